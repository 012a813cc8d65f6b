package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// Every command's --help fits a 100-column terminal, flags included.
func TestEveryHelpFits100Columns(t *testing.T) {
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		stdout, stderr, code := cli(t, append(append([]string(nil), path...), "--help")...)
		require.Equal(t, 0, code, "%v --help: %s", path, stderr)
		require.NotEmpty(t, stdout)
		for _, line := range strings.Split(stdout, "\n") {
			require.LessOrEqual(t, utf8.RuneCountInString(line), helpWidth, "firedrill %s --help: %q",
				strings.Join(path, " "), line)
		}
		for _, sub := range c.Commands() {
			if !sub.Hidden && sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub, append(path, sub.Name()))
			}
		}
	}
	walk(newRootCmd(), nil)
}
