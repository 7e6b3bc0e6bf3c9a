package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPredict_OneZeroPerInstance(t *testing.T) {
	srv := httptest.NewServer(handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/models/m:predict", "application/json",
		strings.NewReader(`{"instances":[{"a":1},{"a":2},[3,4]]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != `{"predictions":[0,0,0]}` {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
	bad, err := http.Post(srv.URL+"/v1/models/m:predict", "application/json", strings.NewReader(`{"instances":`))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("truncated body: got %d, want 400", bad.StatusCode)
	}
}
