module github.com/tsdiag/tsdiag

go 1.26.8

require github.com/spf13/cobra v1.10.2

require (
	github.com/0xrawsec/golang-evtx v1.2.9 // indirect
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/expr-lang/expr v1.17.8 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
