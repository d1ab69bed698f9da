package rules

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Budgets that keep a hostile or careless rule from hanging or exhausting
// the process. Loops in expr allocate ranges and scopes that the VM counts
// against MemoryBudget, so the memory budget also bounds running time.
const (
	MaxExprLen      = 4096   // characters per expression
	MaxExprNodes    = 600    // AST nodes per expression
	MaxExprMemory   = 200000 // expr VM memory units per evaluation
	MaxStringResult = 1 << 16
	MaxRules        = 5000 // rules per set
)

// Builtins a rule may not use: clock and time-zone access (files on disk,
// non-reproducible output) and string builders whose output can grow
// exponentially; capped replacements exist as functions where useful.
var deniedBuiltins = []string{"now", "date", "timezone", "duration", "repeat", "replace", "join", "toJSON", "fromJSON"}

// Program is one compiled expression. Safe for concurrent use: each run
// takes a budgeted VM from a pool (one engine per goroutine may share a Set).
type Program struct {
	Source string
	prog   *vm.Program
}

var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// Run evaluates the program; a panic inside expr becomes an error.
func (p *Program) Run(env any) (out any, err error) {
	m := vms.Get().(*vm.VM)
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("expression %q: %v", p.Source, r)
			m = new(vm.VM) // do not reuse a VM left mid-run
		}
		vms.Put(m)
	}()
	m.MemoryBudget = MaxExprMemory
	return m.Run(p.prog, env)
}

// Bool evaluates a condition; an evaluation error counts as false.
func (p *Program) Bool(env any) (bool, error) {
	if p == nil {
		return true, nil
	}
	v, err := p.Run(env)
	if err != nil {
		return false, err
	}
	b, _ := v.(bool)
	return b, nil
}

// String evaluates a value expression and renders it as text.
func (p *Program) String(env any) (string, error) {
	v, err := p.Run(env)
	if err != nil {
		return "", err
	}
	return Format(v), nil
}

// Format renders an expression result as text, the same way everywhere.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprint(x)
	}
}

type exprKind int

const (
	condExpr  exprKind = iota // bool over one event
	valueExpr                 // any value over one event
	factExpr                  // any value over a finding
)

// compileExpr type-checks src against the environment of its kind.
func compileExpr(src string, kind exprKind, classes classIndex) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	if len(src) > MaxExprLen {
		return nil, fmt.Errorf("expression longer than %d characters", MaxExprLen)
	}
	opts := []expr.Option{expr.MaxNodes(MaxExprNodes), expr.Timezone("UTC")}
	if kind == factExpr {
		opts = append(opts, expr.Env(&FactEnv{}))
	} else {
		opts = append(opts, expr.Env(&Env{}))
	}
	if kind == condExpr {
		opts = append(opts, expr.AsBool())
	}
	for _, b := range deniedBuiltins {
		opts = append(opts, expr.DisableBuiltin(b))
	}
	chk := &callPatcher{classes: classes}
	opts = append(opts,
		expr.Patch(chk),
		expr.Function("Join", joinFn, new(func([]string, string) string), new(func([]any, string) string)),
		expr.Function("Replace", replaceFn, new(func(string, string, string) string)),
		expr.Function("concat$", concatFn, new(func(string, string) string)),
		expr.Operator("+", "concat$"),
	)
	prog, err := compileSafely(src, opts)
	if err != nil {
		return nil, err
	}
	if chk.err != nil {
		return nil, chk.err
	}
	return &Program{Source: src, prog: prog}, nil
}

func compileSafely(src string, opts []expr.Option) (p *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("cannot compile: %v", r)
		}
	}()
	p, err = expr.Compile(src, opts...)
	if err != nil {
		// expr adds the source and a caret on further lines; the first line
		// has the message and (line:column), enough next to file:line.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, errors.New(strings.TrimSpace(msg))
	}
	return p, nil
}

// oneLine keeps expr's message and caret on one line for file:line output.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// callPatcher rewrites Data("x") (a call of the map field) to DataValue("x")
// and checks that Is("class") names a known class.
type callPatcher struct {
	classes classIndex
	err     error
}

func (c *callPatcher) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	switch callee := call.Callee.(type) {
	case *ast.IdentifierNode:
		switch callee.Value {
		case "Data":
			call.Callee = &ast.IdentifierNode{Value: "DataValue"}
		case "Is":
			c.checkClass(call)
		}
	case *ast.MemberNode:
		s, ok := callee.Property.(*ast.StringNode)
		if !ok {
			return
		}
		if s.Value == "Data" {
			callee.Property = &ast.StringNode{Value: "DataValue"}
		}
		if machineDependent[s.Value] && c.err == nil {
			c.err = fmt.Errorf("%s() is not allowed: its result depends on the machine's time zone", s.Value)
		}
	}
}

// machineDependent are time.Time methods whose result depends on the local
// time zone (read from the environment and /etc/localtime): a rule must
// give the same answer on every machine.
var machineDependent = map[string]bool{"Local": true, "In": true, "Zone": true, "ZoneBounds": true, "Location": true}

func (c *callPatcher) checkClass(call *ast.CallNode) {
	if c.classes == nil || len(call.Arguments) != 1 || c.err != nil {
		return
	}
	s, ok := call.Arguments[0].(*ast.StringNode)
	if !ok {
		return
	}
	if _, known := c.classes[s.Value]; !known {
		c.err = fmt.Errorf("Is(%q): no such class", s.Value)
	}
}

var errTooLong = fmt.Errorf("string result longer than %d bytes", MaxStringResult)

func concatFn(p ...any) (any, error) {
	a, b := p[0].(string), p[1].(string)
	if len(a)+len(b) > MaxStringResult {
		return nil, errTooLong
	}
	return a + b, nil
}

func joinFn(p ...any) (any, error) {
	sep := p[1].(string)
	var parts []string
	switch l := p[0].(type) {
	case []string:
		parts = l
	case []any:
		for _, v := range l {
			parts = append(parts, Format(v))
		}
	}
	n := len(sep) * len(parts)
	for _, s := range parts {
		n += len(s)
	}
	if n > MaxStringResult {
		return nil, errTooLong
	}
	return strings.Join(parts, sep), nil
}

func replaceFn(p ...any) (any, error) {
	s, old, repl := p[0].(string), p[1].(string), p[2].(string)
	if old == "" {
		return s, nil
	}
	if n := strings.Count(s, old); len(s)+n*len(repl) > MaxStringResult {
		return nil, errTooLong
	}
	return strings.ReplaceAll(s, old, repl), nil
}
