// Package awsworld is the AWS side of the simulated world: IAM (users,
// access keys, roles, instance profiles, sessions, policies and their
// propagation, authentication and authorization of calls), EC2's own
// behaviour (launching, stopping and terminating instances, EBS snapshots,
// security groups with connection tracking, Elastic IPs, network ACLs,
// tags), Auto Scaling groups and their health checks, SSM run commands,
// CloudWatch's metric series and alarm evaluation, GuardDuty detectors and
// S3 bucket policies.
//
// Its state lives in the world's extension store (see Of), so the kernel in
// cloudsim/world stays provider-neutral; EC2 instances, volumes, snapshots,
// interfaces, VPCs and subnets are the kernel's shared compute model, and S3
// buckets its shared object store. Of and every method of State must be
// called with the world locked. The methods called directly (seeding, test
// harnesses) act at once; the wire front end wraps IAM changes in IAMChange
// and AccessKeyChange so that they propagate as IAM's do.
package awsworld
