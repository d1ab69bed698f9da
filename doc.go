// Package tsdiag is the embedding API of tsdiag, the Remote Desktop
// licensing diagnoser.
package tsdiag
