package awssim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

func TestDescribeInstanceAttributeReflectsProtection(t *testing.T) {
	f := newEC2Fixture(t)
	inst := f.launch(t, awsworld.LaunchSpec{Running: true, DataVolumes: []awsworld.VolumeSpec{{Device: "/dev/sdf", SizeGiB: 10, DeleteOnTermination: true}}})
	ctx := context.Background()
	get := func(attr ec2types.InstanceAttributeName) *ec2.DescribeInstanceAttributeOutput {
		t.Helper()
		out, err := f.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(inst.ID), Attribute: attr})
		require.NoError(t, err, attr)
		require.Equal(t, inst.ID, aws.ToString(out.InstanceId))
		return out
	}
	require.False(t, aws.ToBool(get(ec2types.InstanceAttributeNameDisableApiTermination).DisableApiTermination.Value))
	require.Equal(t, "stop", aws.ToString(get(ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior).InstanceInitiatedShutdownBehavior.Value))
	bdm := get(ec2types.InstanceAttributeNameBlockDeviceMapping).BlockDeviceMappings
	require.Len(t, bdm, 2)
	require.True(t, aws.ToBool(bdm[1].Ebs.DeleteOnTermination))
	require.NotEmpty(t, get(ec2types.InstanceAttributeNameGroupSet).Groups)

	_, err := f.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(inst.ID),
		DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
	require.NoError(t, err)
	require.True(t, aws.ToBool(get(ec2types.InstanceAttributeNameDisableApiTermination).DisableApiTermination.Value))

	_, err = f.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(inst.ID), Attribute: "kernelMagic"})
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "got %v", err)
	require.Equal(t, "InvalidParameterValue", ae.ErrorCode())
	_, err = f.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String("i-0123456789abcdef0"),
		Attribute: ec2types.InstanceAttributeNameDisableApiTermination})
	require.True(t, errors.As(err, &ae), "got %v", err)
	require.Equal(t, "InvalidInstanceID.NotFound", ae.ErrorCode())
}
