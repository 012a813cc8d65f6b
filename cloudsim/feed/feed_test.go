package feed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
)

// A delivery that fails is retried; the envelope's content type and
// headers go with it; Close delivers what is queued.
func TestWebhooksRetryAndDeliverOnClose(t *testing.T) {
	var calls atomic.Int32
	got := make(chan *http.Request, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		got <- r
	}))
	defer srv.Close()
	h := &Webhooks{URLs: []string{srv.URL}, Backoff: time.Millisecond}
	h.Push("azure", simcloud.Push{Kind: "eventgrid", ContentType: "application/json", Body: []byte(`[]`),
		Headers: map[string]string{"aeg-event-type": "Notification"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.Close(ctx)
	require.Equal(t, 1, h.Delivered())
	require.Equal(t, int32(2), calls.Load(), "the first, failed, delivery is retried")
	r := <-got
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.Equal(t, "Notification", r.Header.Get("aeg-event-type"))
	h.Push("azure", simcloud.Push{}) // after Close: dropped, no panic
}

// A receiver that never accepts gets Retries+1 tries, then the delivery is
// given up.
func TestWebhooksGiveUp(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	h := &Webhooks{URLs: []string{srv.URL}, Retries: 2, Backoff: time.Millisecond}
	h.Push("aws", simcloud.Push{Kind: "eventbridge", ContentType: "application/json", Body: []byte(`{}`)})
	h.Close(context.Background())
	require.Equal(t, 0, h.Delivered())
	require.Equal(t, int32(3), calls.Load())
}
