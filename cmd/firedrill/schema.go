package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firedrill-ir/firedrill/responder"
	"github.com/firedrill-ir/firedrill/scenarios"
)

// schemas are the file formats 'firedrill schema' describes.
var schemas = map[string]func() map[string]any{
	"playbook": responder.PlaybookSchema,
	"scenario": scenarios.Schema,
}

func newSchemaCmd() *cobra.Command {
	kinds := make([]string, 0, len(schemas))
	for k := range schemas {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return &cobra.Command{
		Use:   "schema " + strings.Join(kinds, "|"),
		Short: "Print the JSON Schema of a file format, for editors",
		Long: `Print the JSON Schema (2020-12) of a playbook or scenario file: every field with
its description, the known actions, clouds, resource kinds and severities.
Point your editor's YAML language server at it and files are checked as you
type; 'firedrill run --playbook FILE' checks the same and more (references
between steps, predicates, templates).

Format references: docs/playbooks.md and docs/scenarios.md.`,
		Example: `  firedrill schema playbook > playbook.schema.json
  # VS Code (redhat.vscode-yaml), at the top of a playbook file:
  # yaml-language-server: $schema=./playbook.schema.json`,
		Args: exactlyOneArg("KIND"),
		RunE: func(cmd *cobra.Command, args []string) error {
			gen, ok := schemas[args[0]]
			if !ok {
				return &usageError{msg: fmt.Sprintf("no schema for %q (known: %s)", args[0], strings.Join(kinds, ", "))}
			}
			return writeJSON(cmd.OutOrStdout(), gen())
		},
		ValidArgs: slices.Clone(kinds),
	}
}
