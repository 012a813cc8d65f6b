package awssim

import "github.com/firedrill-ir/firedrill/cloudsim/world"

// stsService serves STS (awsQuery). AssumeRole lives with IAM in iam.go's
// helpers; GetCallerIdentity needs no permission, as in AWS.
func stsService() *Service {
	return &Service{
		Name: "sts", EventSource: "sts.amazonaws.com",
		proto: awsQuery{xmlns: "https://sts.amazonaws.com/doc/2011-06-15/"},
		Ops: map[string]*Op{
			"GetCallerIdentity": {Public: true, Latency: 60e6, Handle: getCallerIdentity},
		},
	}
}

func getCallerIdentity(c *Call) (any, error) {
	p := c.Caller
	id := p.ID
	if p.Kind == "session" {
		id = p.Role.ID + ":" + p.Session.SessionName
	}
	return []*X{T("Arn", p.ARN), T("UserId", id), T("Account", p.Account)}, nil
}

var _ = world.Principal{}
