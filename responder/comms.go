package responder

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/firedrill-ir/firedrill/timeline"
)

// MessageData is what message templates and templated step parameters see:
// {{.CaseID}}, {{.Resource}}, {{.Outcome}}, {{.Facts.instance.identity.role_name}}, …
type MessageData struct {
	CaseID, Playbook, Title, Severity, Resource, Outcome string
	Contained                                            bool
	Trigger                                              Trigger
	Facts                                                map[string]any
	Now                                                  time.Time
	StartedAt                                            time.Time
}

func (r *Responder) messageData(c *Case) MessageData {
	return MessageData{CaseID: c.ID, Playbook: c.Playbook, Title: r.pb.Title, Severity: c.Severity,
		Resource: c.Resource, Outcome: c.Outcome, Contained: c.Contained, Trigger: c.Trigger,
		Facts: c.Facts(), Now: r.clk.Now(), StartedAt: c.StartedAt}
}

// render executes a template; a missing key is an error rather than
// "<no value>" in a message to management.
func render(name, text string, data MessageData) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("parsing template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("rendering template %s: %w", name, err)
	}
	return b.String(), nil
}

// communicate sends every notify rule of the plan that applies at moment on
// to a case of this severity.
func (r *Responder) communicate(c *Case, on string) {
	for _, rule := range r.pb.Communication.Rules {
		if rule.On != on || severityRank(c.Severity) < severityRank(rule.Severity) {
			continue
		}
		if _, err := r.notify(c, rule.Template, rule.Roles, on, rule.Within.D()); err != nil {
			r.emit(c, timeline.Event{Kind: timeline.StepError, Name: "notify " + rule.Template, Outcome: StatusFailed,
				Message: err.Error(), Detail: map[string]string{"phase": PhaseCommunication, "error": err.Error()}})
		}
	}
}

// notify renders a template for roles and records it as a notify event.
// Delivery (mail, chat, ticket) is a hook for later; the drill scores that
// the right people were told in time.
func (r *Responder) notify(c *Case, tmplID string, roles []string, on string, within time.Duration) (Notification, error) {
	t, ok := r.pb.Communication.Template(tmplID)
	if !ok {
		return Notification{}, fmt.Errorf("unknown message template %q", tmplID)
	}
	data := r.messageData(c)
	subject, err := render(t.ID+".subject", t.Subject, data)
	if err != nil {
		return Notification{}, err
	}
	body, err := render(t.ID+".body", t.Body, data)
	if err != nil {
		return Notification{}, err
	}
	n := Notification{Template: t.ID, On: on, Subject: subject, Body: body, Roles: roles, At: r.clk.Now()}
	var channels []string
	for _, id := range roles {
		if role, ok := r.pb.Communication.Role(id); ok {
			n.Contacts = append(n.Contacts, role.Contacts...)
			if role.Channel != "" {
				channels = append(channels, role.Channel)
			}
		}
	}
	detail := map[string]string{"phase": PhaseCommunication, "template": t.ID, "on": on, "severity": c.Severity,
		"roles": strings.Join(roles, ","), "contacts": strings.Join(n.Contacts, ","), "channels": strings.Join(channels, ","),
		"subject": subject}
	if within > 0 {
		n.Due = c.StartedAt.Add(within)
		n.Late = n.At.After(n.Due)
		detail["due"] = n.Due.UTC().Format(time.RFC3339)
		detail["late"] = fmt.Sprint(n.Late)
	}
	c.mu.Lock()
	c.notifications = append(c.notifications, n)
	c.mu.Unlock()
	r.emit(c, timeline.Event{Kind: timeline.Notify, Name: t.ID, Message: subject + "\n" + body, Detail: detail})
	return n, nil
}
