package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/postgres"
)

func newAuditExportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "export PATH",
		Short: "Write the audit trail kept in PostgreSQL to a file that audit verify checks",
		Long: `Export writes the audit trail of state.type postgres, from one snapshot, to PATH
as the same hash-chained JSON Lines the file trail uses, with its head file
PATH.head: modelgate audit verify and audit head then work on it as on a file
trail. The entries are written exactly as they were sealed; PATH must not exist.
With state.type sqlite the trail is the file records.audit already.`,
		Example: `  modelgate audit export audit-2026-03.jsonl && modelgate audit verify audit-2026-03.jsonl`,
		Args:    nArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.auditExport(cmd, args[0])
		},
	}
}

func (g *globals) auditExport(cmd *cobra.Command, path string) error {
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	if cfg.State.Type != "postgres" {
		return modelgate.Errorf(modelgate.EINVALID, "audit export reads the trail kept in PostgreSQL (state.type postgres); this configuration keeps it in the file %s", cfg.path(cfg.Records.Audit)).
			WithHint("verify that file directly: modelgate audit verify %s", cfg.path(cfg.Records.Audit))
	}
	db, err := cfg.openPostgres()
	if err != nil {
		return err
	}
	defer db.Close()
	var trail, head bytes.Buffer
	if err := postgres.NewAuditLog(db).Export(cmd.Context(), &trail, &head); err != nil {
		return err
	}
	// O_EXCL: an export never overwrites a trail someone may still need.
	for p, b := range map[string][]byte{path: trail.Bytes(), path + ".head": head.Bytes()} {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return modelgate.Errorf(modelgate.EINVALID, "audit export: %v", err)
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	n := bytes.Count(trail.Bytes(), []byte("\n"))
	if g.json() {
		return g.printJSON(map[string]any{"path": path, "entries": n})
	}
	fmt.Fprintf(g.stdout, "%s: %d entries (head in %s.head)\n", path, n, path)
	return nil
}

// checkPostgresTrail verifies the trail kept in PostgreSQL with the audit
// package's checks, through an export to a temporary file, so that both
// kinds of trail are judged by one implementation. name stands in for the
// file's path in the report.
func checkPostgresTrail(ctx context.Context, l *postgres.AuditLog, name string, o audit.VerifyOptions) (*audit.Report, error) {
	dir, err := os.MkdirTemp("", "modelgate-audit-")
	if err != nil {
		return nil, fmt.Errorf("verify the audit trail: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")
	var trail, head bytes.Buffer
	if err := l.Export(ctx, &trail, &head); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, trail.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("verify the audit trail: %w", err)
	}
	if err := os.WriteFile(path+".head", head.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("verify the audit trail: %w", err)
	}
	r, err := audit.Check(path, o)
	if r != nil {
		r.Path = name
	}
	return r, err
}
