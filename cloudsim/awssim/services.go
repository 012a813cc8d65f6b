package awssim

// allServices lists every service the simulator serves. Each lives in its own
// file(s): ec2*.go, autoscaling.go, iam.go, sts.go, s3*.go, cloudtrail.go,
// guardduty.go, ssm.go, cloudwatch.go.
func allServices() []*Service {
	return []*Service{
		ec2Service(), autoscalingService(), iamService(), stsService(), s3Service(),
		cloudtrailService(), guarddutyService(), ssmService(), cloudwatchService(),
	}
}
