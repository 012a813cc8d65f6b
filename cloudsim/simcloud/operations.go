package simcloud

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// CloudOperations is what one registered cloud serves: its operations,
// sorted by service then name, or Listed false while its driver does not
// list them yet.
type CloudOperations struct {
	Cloud      string      `json:"cloud"`
	Listed     bool        `json:"listed"`
	Operations []Operation `json:"operations"`
}

// AllOperations lists every registered cloud's operations (only cloud's
// when it is not empty), clouds sorted.
func AllOperations(cloud string) ([]CloudOperations, error) {
	clouds := Clouds()
	if cloud != "" {
		if _, ok := Get(cloud); !ok {
			return nil, fmt.Errorf("no simulated cloud %q (there are %s)", cloud, strings.Join(clouds, ", "))
		}
		clouds = []string{cloud}
	}
	var out []CloudOperations
	for _, c := range clouds {
		d, _ := Get(c)
		co := CloudOperations{Cloud: c, Operations: []Operation{}}
		if d.Operations != nil {
			co.Listed = true
			co.Operations = append(co.Operations, d.Operations()...)
			sort.Slice(co.Operations, func(i, j int) bool {
				a, b := co.Operations[i], co.Operations[j]
				if a.Service != b.Service {
					return a.Service < b.Service
				}
				return a.Name < b.Name
			})
		}
		out = append(out, co)
	}
	return out, nil
}

// WriteOperationsMarkdown writes docs/sim-operations.md: per cloud, a table
// of the operations each simulated service serves.
func WriteOperationsMarkdown(w io.Writer, clouds []CloudOperations) error {
	var b strings.Builder
	b.WriteString("# Operations the simulated clouds serve\n\n")
	b.WriteString("<!-- Generated from each simcloud.Driver's Operations by\n")
	b.WriteString("     go test ./cmd/firedrill -run TestSimOperationsDoc -update; do not edit. -->\n\n")
	b.WriteString("`firedrill sim serve` answers these operations on each cloud's real wire protocol;\n")
	b.WriteString("any other operation answers with the cloud's own error naming it. `firedrill sim ops`\n")
	b.WriteString("prints the same list (`--cloud C`, `-o json`).\n")
	for _, c := range clouds {
		fmt.Fprintf(&b, "\n## %s\n\n", c.Cloud)
		if !c.Listed {
			b.WriteString("Not listed yet: this cloud's driver does not list its operations.\n")
			continue
		}
		fmt.Fprintf(&b, "%d operations.\n\n| Service | Operations |\n|---|---|\n", len(c.Operations))
		for i := 0; i < len(c.Operations); {
			j := i
			var names []string
			for ; j < len(c.Operations) && c.Operations[j].Service == c.Operations[i].Service; j++ {
				names = append(names, "`"+c.Operations[j].Name+"`")
			}
			fmt.Fprintf(&b, "| %s | %s |\n", c.Operations[i].Service, strings.Join(names, ", "))
			i = j
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
