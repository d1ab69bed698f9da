// A module of its own so that tsdiag never depends on Velocidex's parser:
// .ci/bench builds it only to time it. The version is pinned: the module
// proxy here refuses to list www.velocidex.com/golang/evtx (403) but serves
// this pseudo-version (commit f4fa97e, 2025-06-30). TSDIAG_VELOCIRAPTOR_SRC
// makes .ci/bench build from a checkout instead.
module velobench

go 1.26

require www.velocidex.com/golang/evtx v0.2.1-0.20250630041705-f4fa97e6f7fb
