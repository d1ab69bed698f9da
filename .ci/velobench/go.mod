// A module of its own so that tsdiag never depends on Velocidex's parser:
// .ci/bench builds it only to time it. The Go module proxy here refuses
// www.velocidex.com/golang/evtx (403); .ci/bench then points the replace at
// a checkout named by TSDIAG_VELOCIRAPTOR_SRC.
module velobench

go 1.26

require www.velocidex.com/golang/evtx v0.2.1-0.20250630041705-f4fa97e6f7fb
