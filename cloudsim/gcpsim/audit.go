package gcpsim

import (
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// Audit log names, as Cloud Audit Logs writes them (URL-encoded slash).
const (
	LogActivity   = "cloudaudit.googleapis.com%2Factivity"
	LogDataAccess = "cloudaudit.googleapis.com%2Fdata_access"
	LogSystem     = "cloudaudit.googleapis.com%2Fsystem_event"
)

// auditMethods maps non-Compute REST methods to the methodName their audit
// records carry (the gRPC method).
var auditMethods = map[string]string{
	"entries.list":                 "google.logging.v2.LoggingServiceV2.ListLogEntries",
	"findings.list":                "google.cloud.securitycenter.v2.SecurityCenter.ListFindings",
	"serviceAccounts.get":          "google.iam.admin.v1.GetServiceAccount",
	"serviceAccounts.list":         "google.iam.admin.v1.ListServiceAccounts",
	"serviceAccounts.disable":      "google.iam.admin.v1.DisableServiceAccount",
	"serviceAccounts.enable":       "google.iam.admin.v1.EnableServiceAccount",
	"serviceAccounts.keys.list":    "google.iam.admin.v1.ListServiceAccountKeys",
	"serviceAccounts.keys.get":     "google.iam.admin.v1.GetServiceAccountKey",
	"serviceAccounts.keys.disable": "google.iam.admin.v1.DisableServiceAccountKey",
	"serviceAccounts.keys.enable":  "google.iam.admin.v1.EnableServiceAccountKey",
	"serviceAccounts.keys.create":  "google.iam.admin.v1.CreateServiceAccountKey",
	"projects.getIamPolicy":        "GetIamPolicy",
	"projects.setIamPolicy":        "SetIamPolicy",
	"findings.setState":            "google.cloud.securitycenter.v2.SecurityCenter.SetFindingState",
	"findings.setMute":             "google.cloud.securitycenter.v2.SecurityCenter.SetMute",
}

// MethodName is the audit-log methodName of a REST method of a service.
func MethodName(service, method string) string {
	if service == "compute" {
		return "v1.compute." + method
	}
	if m, ok := auditMethods[method]; ok {
		return m
	}
	return method
}

// auditLocked records the call in Cloud Audit Logs: mutations in the Admin
// Activity log, reads in the Data Access log, each with the caller, the
// resource and, for failures, the canonical error code. Delivery lags by a
// seeded delay around AuditLag.
func (s *Server) auditLocked(c *call, e *apiError) {
	log := LogActivity
	if c.rt.readOnly {
		log = LogDataAccess
	}
	method := MethodName(c.rt.service, c.rt.method)
	if c.auditMethod != "" {
		method = c.auditMethod
	}
	region := c.vars["zone"]
	if region == "" {
		region = c.vars["region"]
	}
	ev := &world.AuditEvent{
		ID: c.requestID, Time: c.now, DeliverAt: c.now.Add(s.World.JitterLocked(world.PurposeDelivery, s.AuditLag, 0.5).Round(time.Millisecond)),
		Cloud: "gcp", Account: c.project, Region: region, Service: serviceHost(c.rt.service), Operation: method,
		SourceIP: c.sourceIP, UserAgent: c.userAgent, ReadOnly: c.rt.readOnly, RequestID: c.requestID,
		Params: map[string]string{"logName": log, "permission": c.rt.perm},
	}
	if c.caller != nil {
		ev.PrincipalARN, ev.PrincipalID, ev.UserName, ev.IdentityType = c.caller.Email, c.caller.Email, c.caller.Email, c.caller.Kind
		if c.caller.Token != nil && c.caller.Token.KeyID != "" {
			ev.AccessKeyID = c.caller.Token.KeyID
		}
		if c.caller.Token != nil {
			ev.Params["credentialSource"] = c.caller.Token.Source
		}
	}
	name := c.resourceName
	if name == "" {
		name = c.permResource()
	}
	typ := c.resourceType
	if typ == "" && c.vars["instance"] != "" {
		// Refused before the handler resolved the VM: still a gce_instance
		// record, as Cloud Audit Logs writes denied calls.
		typ = "gce_instance"
		c.labels = map[string]string{"zone": c.vars["zone"], "project_id": c.project}
	}
	if typ == "" {
		typ = "audited_resource"
		c.labels = map[string]string{"service": serviceHost(c.rt.service), "method": method, "project_id": c.project}
	}
	ev.Resources = []world.AuditResource{{Type: typ, Name: name}}
	for k, v := range c.labels {
		ev.Params["resource.labels."+k] = v
	}
	if e != nil {
		ev.ErrorCode, ev.ErrorMessage = e.status, e.message
		if ev.ErrorCode == "" {
			ev.ErrorCode = statusName(e.code)
		}
	}
	s.World.RecordAuditLocked(ev)
}

// RecordSystemEventLocked writes a Google-initiated action (a MIG deleting a
// VM) to the audit log as the Google APIs service agent does, so responders
// can see who deleted their evidence.
func RecordSystemEventLocked(w *world.World, at time.Time, project, zone, method, resourceType, resourceName string, labels map[string]string, lag time.Duration) {
	p := gcpworld.Of(w).Projects.Lookup(project)
	agent := "cloudservices.gserviceaccount.com"
	if p != nil {
		agent = fmt.Sprintf("%d@cloudservices.gserviceaccount.com", p.Number)
	}
	now := at
	rng := w.IDRandLocked()
	ev := &world.AuditEvent{ID: fmt.Sprintf("%016x%08x", rng.Uint64(), rng.Uint32()), Time: now,
		DeliverAt: now.Add(w.JitterLocked(world.PurposeDelivery, lag, 0.5).Round(time.Millisecond)), Cloud: "gcp", Account: project, Region: zone,
		Service: "compute.googleapis.com", Operation: method, PrincipalARN: agent, PrincipalID: agent, UserName: agent,
		IdentityType: "serviceAccount", Resources: []world.AuditResource{{Type: resourceType, Name: resourceName}},
		Params: map[string]string{"logName": LogActivity}}
	for k, v := range labels {
		ev.Params["resource.labels."+k] = v
	}
	w.RecordAuditLocked(ev)
}
