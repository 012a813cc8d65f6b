package responder

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
)

// Decision predicates are CEL over one variable, facts: the JSON-like map
// the steps have gathered (facts.instance.tags["env"], facts.trigger.type, …).
// CEL is side-effect free and always terminates, which is what automation
// needs from an expression an author writes into a playbook.

var (
	celEnvOnce sync.Once
	celEnv     *cel.Env
	celEnvErr  error
)

func factsEnv() (*cel.Env, error) {
	celEnvOnce.Do(func() {
		celEnv, celEnvErr = cel.NewEnv(cel.Variable("facts", cel.MapType(cel.StringType, cel.DynType)))
	})
	return celEnv, celEnvErr
}

// factPath is a path into the facts a predicate reads, e.g.
// ["instance", "tags", "env"].
type factPath []string

func (p factPath) String() string { return strings.Join(p, ".") }

// compilePredicate compiles and type-checks a predicate at load time, so a
// typo fails the playbook load instead of the incident.
func compilePredicate(expr string) (cel.Program, []factPath, error) {
	env, err := factsEnv()
	if err != nil {
		return nil, nil, fmt.Errorf("building the CEL environment: %w", err)
	}
	checked, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, nil, fmt.Errorf("bad CEL predicate: %s", strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	if t := checked.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, nil, fmt.Errorf("bad CEL predicate: it yields %s, not bool", t)
	}
	prg, err := env.Program(checked)
	if err != nil {
		return nil, nil, fmt.Errorf("bad CEL predicate: %w", err)
	}
	return prg, readPaths(checked.NativeRep()), nil
}

// readPaths lists the fact paths an expression reads (facts.a.b,
// facts.a["b"]), longest first-seen paths only, sorted: these are the
// "inputs" a decision event records.
func readPaths(a *ast.AST) []factPath {
	var found []factPath
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if p, ok := pathOf(e); ok && len(p) > 0 {
			found = append(found, p)
		}
	}))
	var out []factPath
	for _, p := range found {
		prefix := false
		for _, q := range found {
			if len(q) > len(p) && slices.Equal(q[:len(p)], p) {
				prefix = true
				break
			}
		}
		if !prefix && !slices.ContainsFunc(out, func(o factPath) bool { return slices.Equal(o, p) }) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b factPath) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// pathOf reports the fact path of a chain of selects and constant indexes
// rooted at the facts variable.
func pathOf(e ast.Expr) (factPath, bool) {
	switch e.Kind() {
	case ast.IdentKind:
		return factPath{}, e.AsIdent() == "facts"
	case ast.SelectKind:
		s := e.AsSelect()
		p, ok := pathOf(s.Operand())
		if !ok {
			return nil, false
		}
		return append(slices.Clone(p), s.FieldName()), true
	case ast.CallKind:
		c := e.AsCall()
		if c.FunctionName() != "_[_]" || len(c.Args()) != 2 || c.Args()[1].Kind() != ast.LiteralKind {
			return nil, false
		}
		p, ok := pathOf(c.Args()[0])
		if !ok {
			return nil, false
		}
		return append(slices.Clone(p), fmt.Sprint(c.Args()[1].AsLiteral().Value())), true
	}
	return nil, false
}

// lookupFact follows a path through nested maps and lists.
func lookupFact(facts map[string]any, p factPath) (any, bool) {
	var cur any = facts
	for _, k := range p {
		switch m := cur.(type) {
		case map[string]any:
			v, ok := m[k]
			if !ok {
				return nil, false
			}
			cur = v
		case map[string]string:
			v, ok := m[k]
			if !ok {
				return nil, false
			}
			cur = v
		default:
			return nil, false
		}
	}
	return cur, true
}

// decisionInputs renders the facts a predicate reads as stable JSON
// (encoding/json sorts map keys); missing facts are null.
func decisionInputs(facts map[string]any, paths []factPath) string {
	in := map[string]any{}
	for _, p := range paths {
		v, _ := lookupFact(facts, p)
		in[p.String()] = v
	}
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Sprintf(`{"error":%q}`, err.Error())
	}
	return string(b)
}

// evalPredicate runs a compiled predicate. A non-boolean result or a missing
// fact is an error: a decision must not silently default.
func evalPredicate(prg cel.Program, facts map[string]any) (bool, error) {
	out, _, err := prg.Eval(map[string]any{"facts": facts})
	if err != nil {
		return false, fmt.Errorf("evaluating predicate: %w", err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("predicate yielded %v (%T), not a bool", out.Value(), out.Value())
	}
	return b, nil
}

// EvalPredicate compiles and evaluates a decision predicate over facts, as
// the engine does, for callers that preview decisions (firedrill respond's
// dry run).
func EvalPredicate(expr string, facts map[string]any) (bool, error) {
	prg, _, err := compilePredicate(expr)
	if err != nil {
		return false, err
	}
	return evalPredicate(prg, facts)
}
