package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/gateway"
)

// checkCmd sends the first body of a file and compares the answer with
// LightGBM's predictions for it, so a server that answers fast but wrongly
// (a transform it does not apply, a protocol it misreads) is caught.
func checkCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	url := fs.String("url", "", "predict URL")
	proto := fs.String("proto", "v1", "answer format: v1 or mlflow ({\"predictions\":[...]}), v2 (outputs[0].data)")
	bodies := fs.String("bodies", "", "file of bodies, one a line")
	expected := fs.String("expected", "", "file of expected predictions, one array a line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := readLines(*bodies)
	if err != nil {
		return err
	}
	want, err := readLines(*expected)
	if err != nil {
		return err
	}
	var exp []float64
	if err := json.Unmarshal(want[0], &exp); err != nil {
		return fmt.Errorf("read %s: %w", *expected, err)
	}
	got, err := predict(ctx, *url, *proto, body[0])
	if err != nil {
		return err
	}
	if err := same(got, exp); err != nil {
		return fmt.Errorf("%s: answer differs from LightGBM's: %w", *url, err)
	}
	fmt.Fprintf(w, "check %s: %d predictions equal LightGBM's (first %.4f)\n", *url, len(got), got[0])
	return nil
}

func predict(ctx context.Context, url, proto string, body []byte) ([]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("post %s: %s: %.300s %v", url, resp.Status, b, err)
	}
	var ans struct {
		Predictions []float64 `json:"predictions"`
		Outputs     []struct {
			Data []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, fmt.Errorf("decode answer %.300s: %w", b, err)
	}
	if proto == "v2" {
		if len(ans.Outputs) == 0 {
			return nil, fmt.Errorf("answer has no outputs: %.300s", b)
		}
		return ans.Outputs[0].Data, nil
	}
	return ans.Predictions, nil
}

func same(got, want []float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d predictions, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-6*math.Max(1, math.Abs(want[i])) {
			return fmt.Errorf("prediction %d is %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

// deployCmd serves the example's v2 as the stable version of a gateway
// started apart (`modelgate serve`), through its admin API.
func deployCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	url := fs.String("url", "", "gateway data-plane base URL")
	admin := fs.String("admin", "", "gateway admin base URL")
	token := fs.String("token-file", "", "admin token file")
	example := fs.String("example", "examples/demand-forecast", "example directory")
	model := fs.String("model", "demand-forecast", "model name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := filepath.Abs(filepath.Join(*example, "models", "v2"))
	if err != nil {
		return err
	}
	digest, err := modelgate.DirDigest(dir)
	if err != nil {
		return fmt.Errorf("digest %s: %w", dir, err)
	}
	ep := gateway.Endpoints{URL: *url, AdminURL: *admin, AdminTokenFile: *token, Client: &http.Client{Timeout: 30 * time.Second}}
	dep := modelgate.Deployment{Model: *model, Version: "2", ModelDir: dir, Digest: digest}
	if err := gateway.NewDeployerFor(ep).SetStable(ctx, dep); err != nil {
		return fmt.Errorf("deploy v2 on %s: %w", *url, err)
	}
	return nil
}
