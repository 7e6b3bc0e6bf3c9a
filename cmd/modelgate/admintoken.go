package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate/gateway"
)

// adminTokenFileName is the file in state.dir where `modelgate serve` keeps
// the admin token it generated when no other source gives one.
const adminTokenFileName = "admin-token"

// adminTokenSource says where the gateway's admin token comes from. serve
// and the CLI look the same way, so with one configuration and state
// directory they agree: platform.admin_token_file, else the variable
// platform.admin_token_env names, else state.dir/admin-token. Exactly one
// of token and file is set.
func (c *Config) adminTokenSource() (token, file string) {
	if f := c.Platform.AdminTokenFile; f != "" {
		return "", c.path(f)
	}
	if v := c.Platform.AdminTokenEnv; v != "" && os.Getenv(v) != "" {
		return os.Getenv(v), ""
	}
	return "", filepath.Join(c.path(c.State.Dir), adminTokenFileName)
}

// adminTokenHint tells a caller the gateway refused where the token is looked for.
func (c *Config) adminTokenHint() string {
	return fmt.Sprintf("modelgate reads the admin token from platform.admin_token_file, else $%s (platform.admin_token_env), "+
		"else %s, which `modelgate serve` writes; run the CLI with the same configuration and state directory as serve",
		c.Platform.AdminTokenEnv, filepath.Join(c.path(c.State.Dir), adminTokenFileName))
}

// serveSetup checks serve's listen addresses and returns its admin token.
func (c *Config) serveSetup(stderr io.Writer) (string, error) {
	if err := errors.Join(c.checkListen("platform.listen", c.Platform.Listen),
		c.checkListen("platform.admin_listen", c.adminListen())); err != nil {
		return "", err
	}
	return c.serveAdminToken(stderr)
}

// serveAdminToken returns the token serve requires. When no source gives
// one it generates a token into state.dir/admin-token (mode 0600) and says
// where; a configured admin_token_file must exist.
func (c *Config) serveAdminToken(stderr io.Writer) (string, error) {
	token, file := c.adminTokenSource()
	if token != "" {
		return token, nil
	}
	b, err := os.ReadFile(file)
	if t := strings.TrimSpace(string(b)); err == nil && t != "" {
		return t, nil
	}
	if c.Platform.AdminTokenFile != "" || !errors.Is(err, fs.ErrNotExist) {
		return "", configErrorf("platform.admin_token_file: %s holds no admin token (%v); write one, or remove the key to let serve generate one", file, err)
	}
	if token, err = writeAdminToken(file); err != nil {
		return "", err
	}
	fmt.Fprintf(stderr, "modelgate: generated the gateway's admin token in %s (mode 0600); the CLI reads it there\n", file)
	return token, nil
}

// writeAdminToken writes a new random token to file, which must not exist.
func writeAdminToken(file string) (string, error) {
	var b [32]byte
	rand.Read(b[:]) // never fails
	token := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", fmt.Errorf("write the admin token: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write the admin token: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write the admin token: %w", err)
	}
	return token, f.Close()
}

// adminListen is platform.admin_listen, a socket path made absolute.
func (c *Config) adminListen() string {
	a := c.Platform.AdminListen
	if strings.Contains(a, "/") {
		if abs, err := filepath.Abs(c.path(a)); err == nil {
			return abs
		}
	}
	return a
}

// gatewayEndpoints says how the CLI reaches the local gateway.
func (c *Config) gatewayEndpoints(client *http.Client) gateway.Endpoints {
	token, file := c.adminTokenSource()
	return gateway.Endpoints{URL: "http://" + c.Platform.Listen, AdminURL: gateway.AdminURLFor(c.adminListen()),
		AdminToken: token, AdminTokenFile: file, Client: client}
}

// checkListen refuses an address other machines can reach unless
// platform.allow_non_loopback says so: a gateway is exposed on purpose only.
func (c *Config) checkListen(key, addr string) error {
	if strings.Contains(addr, "/") {
		return nil // a unix socket
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return configErrorf("%s: expected host:port, got %q", key, addr)
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) || c.Platform.AllowNonLoopback {
		return nil
	}
	return configErrorf("%s: %s can be reached from other machines; set platform.allow_non_loopback: true to serve there on purpose, or listen on 127.0.0.1", key, addr)
}
