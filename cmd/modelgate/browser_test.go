package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/modelgate/modelgate"
)

// The dashboard in a real browser, on the bundled example: an operator
// watches v2's canary charts grow, accepts it when it is held, and aborts
// v3 from its page; a viewer on a phone-sized screen gets no buttons and a
// 403 when calling the API anyway, a caller without a token a 401; every
// attempt is in the audit trail and no page logs an error.
//
// It needs Chromium: $MODELGATE_CHROMIUM (scripts/chromium-install prints
// it). Screenshots go to $MODELGATE_ARTIFACTS/<test>/ (else a temporary
// directory), whose path is logged.
func TestBrowser_Dashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("runs canary windows in a browser")
	}
	browser := newBrowser(t)
	w := newServerWorld(t, "{percent: 50, window: 10s, interval: 1s, extension: 1s, min_requests: 1000000000}", "127.0.0.1:0")
	w.seed(t)
	traffic, err := startTraffic(context.Background(), w.listen, "demand-forecast", filepath.Join(w.dir, "example", "data", "live_requests.csv"), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer traffic.stop()
	url, _ := startServer(t, w)
	shots := artifactsDir(t)
	ctx := context.Background()
	op := client(url, "olga")

	approveBoth(t, url, "2")
	p2, err := op.StartPromotion(ctx, "demand-forecast", "2")
	if err != nil {
		t.Fatal(err)
	}
	olga := openTab(t, browser, "olga", url+"/promotions/"+p2.ID, 1400, 1000)
	watchChartsGrow(olga)
	olga.screenshot(shots, "canary-live-1400.png")
	olga.waitJS(`document.querySelector('#outcome[data-outcome="held"]') !== null`, 30*time.Second)
	olga.act("#btn-accept", "#act-reason", "traffic too low tonight; reviewed on the dashboard")
	olga.waitJS(`document.querySelector('#outcome[data-outcome="promoted"]') !== null`, 60*time.Second)
	olga.screenshot(shots, "accepted-1400.png")

	ada := openTab(t, browser, "ada", url+"/promotions/"+p2.ID, 1400, 1000)
	ada.waitJS(`document.querySelector('#btn-approve') !== null && document.querySelector('#btn-abort') === null`, 10*time.Second)
	ada.act("#btn-approve", "#act-role", "data_science_lead")

	approveBoth(t, url, "3")
	p3, err := op.StartPromotion(ctx, "demand-forecast", "3")
	if err != nil {
		t.Fatal(err)
	}
	olga.navigate(url + "/promotions/" + p3.ID)
	vic := openTab(t, browser, "vic", url+"/promotions/"+p3.ID, 390, 844)
	viewerIsRefused(vic, p3)
	olga.waitJS(`document.querySelectorAll('figure[data-chart="latency"] path.line.canary').length === 3`, 30*time.Second)
	olga.act("#btn-abort", "#act-reason", "on-call says stop")
	for _, tab := range []*tab{olga, vic} {
		tab.waitJS(`document.querySelector('#outcome[data-outcome="failed"]') !== null && document.body.textContent.includes('Aborted by olga: on-call says stop')`, 30*time.Second)
	}
	vic.screenshot(shots, "aborted-390.png")
	olga.screenshot(shots, "aborted-1400.png")
	olga.navigate(url + "/")
	olga.waitJS(fmt.Sprintf(`document.querySelector('tr[data-id=%q] .badge.promoted') !== null && document.querySelector('tr[data-id=%q] .badge.failed') !== null`, p2.ID, p3.ID), 10*time.Second)
	olga.screenshot(shots, "list-1400.png")

	wantTrail(t, filepath.Join(w.dir, ".modelgate", "audit.jsonl"),
		`"actor":"olga","actor_source":"token:olga","action":"api.post.accept","model":"demand-forecast","version":"2","promotion_id":"`+p2.ID+`","outcome":"done"`,
		`"actor":"ada","actor_source":"token:ada","action":"api.post.approvals","model":"demand-forecast","version":"2","outcome":"done"`,
		`"actor":"vic","actor_source":"token:vic","action":"api.post.abort","model":"demand-forecast","version":"","outcome":"refused"`,
		`"actor":"anonymous","actor_source":"none","action":"api.post.abort","model":"demand-forecast","version":"","outcome":"refused"`,
		`"actor":"olga","actor_source":"token:olga","action":"api.post.abort","model":"demand-forecast","version":"3","promotion_id":"`+p3.ID+`","outcome":"done"`)
	for _, tab := range []*tab{olga, ada, vic} {
		tab.noProblems()
	}
}

// watchChartsGrow waits for the window's charts and then for a look more
// on them, drawn without reloading the page.
func watchChartsGrow(tb *tab) {
	tb.t.Helper()
	const points = `(document.querySelector('figure[data-chart="error_rate"] path.line.canary')?.getAttribute('d').match(/L/g) || []).length`
	tb.waitJS(points+` >= 1 && document.querySelectorAll('figure[data-chart="error_rate"] path.band').length === 2`, 30*time.Second)
	tb.waitJS(`document.querySelectorAll('figure[data-chart="latency"] path.line').length === 6 && document.querySelector('#checks [data-verdict]') !== null`, 5*time.Second)
	seen := evaluate[int](tb, points)
	tb.waitJS(fmt.Sprintf("%s > %d", points, seen), 15*time.Second)
	if n := evaluate[int](tb, `document.querySelectorAll('#timeline li').length`); n < 5 {
		tb.t.Errorf("the timeline shows %d steps while the window runs", n)
	}
}

// viewerIsRefused checks a viewer sees no act and the API refuses one
// made anyway, and one made without a token, and the page fits a phone.
func viewerIsRefused(vic *tab, p *modelgate.Promotion) {
	vic.t.Helper()
	vic.waitJS(`document.querySelector('#btn-report') !== null`, 10*time.Second)
	if n := evaluate[int](vic, `document.querySelectorAll('#btn-abort, #btn-accept, #btn-approve').length`); n != 0 {
		vic.t.Errorf("a viewer is shown %d act buttons", n)
	}
	abort := `fetch('/api/v1/models/%s/abort', {method: 'POST', headers: {%s'Content-Type': 'application/json'}, body: '{"reason":"a viewer tries"}'}).then(r => r.status)`
	if got := evaluate[int](vic, fmt.Sprintf(abort, p.Model, `Authorization: 'Bearer ' + sessionStorage.getItem('modelgate.token'), `)); got != 403 {
		vic.t.Errorf("a viewer's abort from the page: %d, want 403", got)
	}
	if got := evaluate[int](vic, fmt.Sprintf(abort, p.Model, "")); got != 401 {
		vic.t.Errorf("an abort without a token: %d, want 401", got)
	}
	report := `fetch('/api/v1/promotions/` + p.ID + `/report.html', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('modelgate.token')}}).then(r => r.text()).then(t => t.includes('<svg') || t.includes('Timeline'))`
	if !evaluate[bool](vic, report) {
		vic.t.Error("a viewer cannot read the HTML report")
	}
	if wide := evaluate[bool](vic, `document.documentElement.scrollWidth > window.innerWidth + 1`); wide {
		vic.t.Error("the promotion page is wider than a phone's screen")
	}
}

// newBrowser starts headless Chromium for the test, or skips it without
// one (fails it under MODELGATE_REQUIRE_INTEGRATION=1).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("MODELGATE_CHROMIUM")
	if path == "" {
		msg := "no browser: set MODELGATE_CHROMIUM to Chromium's path (scripts/chromium-install prints it)"
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// artifactsDir is where the test's screenshots go.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if base := os.Getenv("MODELGATE_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// tab is one browser tab signed in as one person; problems are what its
// pages wrote to the console as errors or threw.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu       sync.Mutex
	problems []string
}

// openTab opens url in a new tab of the given size and signs in with
// name's token.
func openTab(t *testing.T, browser context.Context, name, url string, width, height int64) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, name: name, ctx: ctx}
	if err := chromedp.Listen(ctx, tb.listen); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.EmulateViewport(width, height), chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#token-input")), chromedp.SendKeys(chromedp.CSS("#token-input"), tokenOf(name)),
		chromedp.Click(chromedp.CSS("#token-submit")))
	tb.waitJS(`document.getElementById('who').textContent.startsWith(`+fmt.Sprintf("%q", name+" · ")+`)`, 10*time.Second)
	return tb
}

func (tb *tab) listen(ev any) {
	var problem string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			problem = "console." + string(e.Type) + ": " + strings.Join(args, " ")
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		problem = fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, d.Text)
		if d.Exception != nil {
			problem += " " + d.Exception.Description
		}
	}
	if problem != "" {
		tb.mu.Lock()
		tb.problems = append(tb.problems, problem)
		tb.mu.Unlock()
	}
}

func (tb *tab) noProblems() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		tb.t.Errorf("%s's page: %s", tb.name, p)
	}
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s's tab: %v", tb.name, err)
	}
}

func (tb *tab) navigate(url string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(url))
}

// act clicks button, fills the dialog's field with text and sends it; the
// dialog closes when the server took it.
func (tb *tab) act(button, field, text string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(field)), chromedp.SendKeys(chromedp.CSS(field), text),
		chromedp.Click(chromedp.CSS("#act-submit")))
	tb.waitJS(`!document.getElementById('act-dialog').open`, 10*time.Second)
}

// waitJS waits until expr is true in the page.
func (tb *tab) waitJS(expr string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.body.innerText`))
			tb.t.Fatalf("%s's tab: still not %s after %s (%v); the page says:\n%s", tb.name, expr, timeout, err, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func evaluate[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s's tab: %s: %v", tb.name, expr, err)
	}
	return v
}

func (tb *tab) screenshot(dir, name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("%s's tab: screenshot: %v", tb.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}
