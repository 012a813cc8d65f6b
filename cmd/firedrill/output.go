package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// Exit codes of firedrill, documented in 'firedrill run --help'.
const (
	exitOK         = 0
	exitFailure    = 1 // anything else went wrong
	exitUsage      = 2 // bad flags, arguments or input files
	exitDrillFails = 3 // the drill ran and its verdict is not pass
)

// exitError is an error that asks for a specific exit status. 'run' returns
// one when the drill completed but failed its expectations: that is a
// result, not a malfunction, and scripts (CI gates) tell them apart by code.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// exitCode maps an error returned by a command to the process exit status.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	// cobra reports unknown commands and wrong argument counts as plain
	// errors; they are usage errors too.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most"} {
		if strings.HasPrefix(msg, p) {
			return exitUsage
		}
	}
	return exitFailure
}

// execute runs the CLI with args and returns the exit status, writing
// errors to stderr. main calls it; tests call it in-process to check both
// the output and the exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "firedrill:", err)
	}
	return exitCode(err)
}

// Output formats.
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
	outText  = "text"
)

// checkOutput validates an --output value against the formats a command
// supports, as a usage error that lists them.
func checkOutput(value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return &usageError{msg: fmt.Sprintf("--output %q: expected one of %s", value, strings.Join(allowed, ", "))}
}

// isTerminal reports whether w is a character device (an interactive
// terminal). Progress goes to stderr only when it is one, so pipes and CI
// logs get clean output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0
}

// writeJSON writes v indented by two spaces with a trailing newline, without
// HTML escaping (finding types contain '>' and '&' in the wild).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// newTable returns the aligned-column writer every table uses, so that all
// commands line up the same way. Callers must Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// flush flushes a table writer with context in the error.
func flush(tw *tabwriter.Writer, what string) error {
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	return nil
}

// dashIfEmpty keeps table columns aligned when a value is missing.
func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
