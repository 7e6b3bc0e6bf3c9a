// Package postgrestest runs throwaway PostgreSQL servers for tests: Start
// initialises a cluster in a temporary directory with the server binaries
// in $MODELGATE_POSTGRES_BIN (scripts/postgres-install prints it), serves it
// on a free loopback port with its unix socket in that directory, and stops
// it when the test ends; Cluster.NewDatabase gives each test an empty
// database. Without the binaries tests skip (fail under
// MODELGATE_REQUIRE_INTEGRATION=1). It is imported by tests only.
//
// initdb and postgres refuse to run as root, so as root the cluster's
// directory belongs to the postgres user (which Debian's package creates),
// or nobody, and the server runs as that user through runuser.
package postgrestest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the cluster's superuser; it authenticates without a password
// (trust), from loopback and the socket only.
const Superuser = "postgres"

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	Host string // 127.0.0.1
	Port int
	Dir  string // the cluster's directory: data/, the socket, the server log

	bin   string
	runAs []string // the runuser prefix when running as root
	dbs   atomic.Int64
}

// Start runs a new cluster until tb ends.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	c := &Cluster{Host: "127.0.0.1", bin: binDir(tb)}
	dir, err := os.MkdirTemp("", "modelgate-postgres-")
	if err != nil {
		tb.Fatal(err)
	}
	c.Dir = dir
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		c.runAs = c.handOver(tb)
	}
	start := time.Now()
	c.run(tb, "initdb", "-D", c.data(), "-U", Superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	c.Port = freePort(tb)
	// fsync off: the data is thrown away, and the tests are about
	// semantics, not durability.
	opts := fmt.Sprintf("-c listen_addresses=%s -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
		c.Host, c.Port, dir)
	c.run(tb, "pg_ctl", "-D", c.data(), "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start")
	tb.Cleanup(func() { c.stop(tb) })
	tb.Logf("postgrestest: cluster on %s:%d ready in %s", c.Host, c.Port, time.Since(start).Round(time.Millisecond))
	return c
}

// DSN returns the connection string of database name.
func (c *Cluster) DSN(name string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", c.Host, c.Port, Superuser, name)
}

// NewDatabase creates an empty database and returns its DSN.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test_%d", c.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		tb.Fatalf("postgrestest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("postgrestest: create database: %v", err)
	}
	return c.DSN(name)
}

func (c *Cluster) data() string { return filepath.Join(c.Dir, "data") }

// handOver gives the cluster's directory to an unprivileged user and
// returns the prefix that runs a command as that user.
func (c *Cluster) handOver(tb testing.TB) []string {
	tb.Helper()
	name := "postgres"
	u, err := user.Lookup(name)
	if err != nil {
		name = "nobody"
		if u, err = user.Lookup(name); err != nil {
			tb.Fatalf("postgrestest: running as root, but there is neither a postgres nor a nobody user to run the server as")
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(c.Dir, uid, gid); err != nil {
		tb.Fatal(err)
	}
	// MkdirTemp's directory is 0700; the server user owns it now, and
	// its parent (the system's temporary directory) is world-traversable.
	return []string{"runuser", "-u", name, "--"}
}

// run runs one of the server's programs and fails tb with its output.
func (c *Cluster) run(tb testing.TB, program string, args ...string) {
	tb.Helper()
	argv := append(append(append([]string{}, c.runAs...), filepath.Join(c.bin, program)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "server.log"))
		tb.Fatalf("postgrestest: %s: %v\n%s\nserver log:\n%s", program, err, out, log)
	}
}

// stop shuts the server down at once: its data is about to be deleted.
func (c *Cluster) stop(tb testing.TB) {
	argv := append(append(append([]string{}, c.runAs...), filepath.Join(c.bin, "pg_ctl")), "-D", c.data(), "-m", "immediate", "-w", "stop")
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		tb.Errorf("postgrestest: stop the cluster: %v\n%s", err, out)
	}
}

// binDir returns $MODELGATE_POSTGRES_BIN, checking that it holds initdb and
// pg_ctl; skips tb without it (fails it under MODELGATE_REQUIRE_INTEGRATION=1).
func binDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("MODELGATE_POSTGRES_BIN")
	msg := "MODELGATE_POSTGRES_BIN is not set: export MODELGATE_POSTGRES_BIN=$(scripts/postgres-install)"
	if dir != "" {
		msg = ""
		for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				msg = fmt.Sprintf("MODELGATE_POSTGRES_BIN=%s has no %s: run scripts/postgres-install", dir, p)
			}
		}
	}
	if msg != "" {
		if os.Getenv("MODELGATE_REQUIRE_INTEGRATION") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return strings.TrimRight(dir, "/")
}

// freePort returns a loopback port nothing listens on right now.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
