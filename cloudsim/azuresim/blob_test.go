package azuresim_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/azuresim/azuresimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// TestBlobBlocksAndListingsThroughAzblob stages blocks and commits them in
// a chosen order, then lists containers and blobs (one a page) with the
// azblob client, as an evidence upload and a responder's inventory do.
func TestBlobBlocksAndListingsThroughAzblob(t *testing.T) {
	e := azuresimtest.New(t, demo.AzureOptions{})
	cred := e.Credential(t, e.Demo.ResponderClientID, e.Demo.ResponderSecret)
	opts := policy.ClientOptions{Transport: e.HTTPClient, Retry: policy.RetryOptions{MaxRetries: -1}}
	account := e.URL + "/" + demo.AzureDemoStorageAccount + "/"
	svc, err := azblob.NewClient(account, cred, &azblob.ClientOptions{ClientOptions: opts})
	require.NoError(t, err)

	bb, err := blockblob.NewClient(account+demo.AzureDemoContainer+"/mem/web-vmss_0.lime", cred, &blockblob.ClientOptions{ClientOptions: opts})
	require.NoError(t, err)
	id := func(n string) string { return base64.StdEncoding.EncodeToString([]byte(n)) }
	for _, b := range []struct{ id, data string }{{"block-0", "first part|"}, {"block-1", "second part"}} {
		_, err := bb.StageBlock(ctx, id(b.id), streaming.NopCloser(bytes.NewReader([]byte(b.data))), nil)
		require.NoError(t, err)
	}
	_, err = bb.CommitBlockList(ctx, []string{id("block-0"), id("block-1")}, &blockblob.CommitBlockListOptions{Metadata: map[string]*string{"sha256": to.Ptr("abc")}})
	require.NoError(t, err)
	got, err := bb.DownloadStream(ctx, nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	require.Equal(t, "first part|second part", string(body), "blocks are committed in the listed order")

	_, err = bb.CommitBlockList(ctx, []string{id("block-0")}, nil)
	require.True(t, bloberror.HasCode(err, bloberror.InvalidBlockList), "committed blocks are no longer staged: %v", err)

	_, err = svc.UploadBuffer(ctx, demo.AzureDemoContainer, "mem/web-vmss_1.lime", []byte("small"), nil)
	require.NoError(t, err)

	var containers []string
	cp := svc.NewListContainersPager(nil)
	for cp.More() {
		page, err := cp.NextPage(ctx)
		require.NoError(t, err)
		for _, c := range page.ContainerItems {
			containers = append(containers, *c.Name)
		}
	}
	require.Equal(t, []string{demo.AzureDemoContainer}, containers)

	var names []string
	var sizes []int64
	pages := 0
	bp := svc.NewListBlobsFlatPager(demo.AzureDemoContainer, &container.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(1)), Prefix: to.Ptr("mem/"),
		Include: container.ListBlobsInclude{Metadata: true}})
	for bp.More() {
		page, err := bp.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
			sizes = append(sizes, *b.Properties.ContentLength)
		}
		if pages == 1 {
			require.Equal(t, "abc", *page.Segment.BlobItems[0].Metadata["sha256"])
		}
	}
	require.Equal(t, []string{"mem/web-vmss_0.lime", "mem/web-vmss_1.lime"}, names)
	require.Equal(t, []int64{22, 5}, sizes)
	require.Equal(t, 2, pages, "one blob a page follows NextMarker")

	// Without a role on the account, listing its containers is refused.
	e.World.Lock()
	nobody := azureworld.Of(e.World).AddApp("nobody")
	e.World.Unlock()
	other, err := azblob.NewClient(account, e.Credential(t, nobody.AppID, nobody.Secret), &azblob.ClientOptions{ClientOptions: opts})
	require.NoError(t, err)
	_, err = other.NewListContainersPager(nil).NextPage(ctx)
	require.True(t, bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch), "%v", err)
}
