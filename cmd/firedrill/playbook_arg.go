package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/firedrill-ir/firedrill/responder"
)

// loadPlaybookArg finds the playbook a --playbook flag names: a built-in
// playbook id, or a path to a playbook YAML file (anything with a path
// separator or a .yaml/.yml suffix). Every problem is a usage error; a bad
// file reports all of its problems at once, each as file:line:col: field.
func loadPlaybookArg(arg string) (*responder.Playbook, error) {
	if !looksLikeFile(arg) {
		pb, ok := responder.PlaybookByID(arg)
		if !ok {
			return nil, &usageError{msg: "--playbook: " + unknownIDMessage(arg, "playbook") +
				" (or give a path to a playbook YAML file)"}
		}
		return pb, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--playbook: %v", err)}
	}
	pb, err := responder.LoadPlaybook(arg, data)
	if err != nil {
		return nil, &usageError{msg: "invalid playbook:\n" + err.Error()}
	}
	return pb, nil
}

// looksLikeFile tells a file argument from an id: ids have no path
// separator and no YAML suffix.
func looksLikeFile(arg string) bool {
	return strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.ContainsRune(arg, os.PathSeparator)
}
