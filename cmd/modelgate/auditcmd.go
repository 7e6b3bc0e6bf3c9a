package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/postgres"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Work with the audit trail"}
	cmd.AddCommand(newAuditVerifyCmd(g), newAuditHeadCmd(g), newAuditRotateKeyCmd(g), newAuditExportCmd(g))
	return cmd
}

type verifyFlags struct {
	keyFiles []string
	anchors  []string
}

func newAuditVerifyCmd(g *globals) *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify PATH",
		Short: "Check that the hash-chained audit trail was not edited, cut, reordered or extended by hand",
		Long: `Verify recomputes every entry's hash and its link to the previous entry, checks
the head file and every --anchor.

A keyed trail is checked with the configured key (records.audit_key_file, or the
variable records.audit_key_env names, MODELGATE_AUDIT_KEY by default) and each
--key-file; an entry sealed with another key is reported as such, not as an edit.
An unkeyed trail verifies with a warning: whoever can write the file can rewrite it
and recompute every hash. Someone holding the key can too; an --anchor taken
earlier (modelgate audit head) and kept elsewhere finds that.

It exits 0 when the trail is intact and 1 naming the first bad entry otherwise.`,
		Example: `  modelgate audit verify .modelgate/audit.jsonl
  modelgate audit verify --key-file /run/secrets/audit-key --key-file retired.key .modelgate/audit.jsonl
  modelgate audit verify --anchor 42:3f1c…(64 hex digits) .modelgate/audit.jsonl`,
		Args: nArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.auditVerify(cmd, args[0], f)
		},
	}
	cmd.Flags().StringArrayVar(&f.keyFiles, "key-file", nil, "a key that may have sealed entries, besides the configured one (repeatable: after a rotation, the earlier keys)")
	cmd.Flags().StringArrayVar(&f.anchors, "anchor", nil, "SEQ:HASH kept outside the trail that it must still hold (repeatable)")
	return cmd
}

func (g *globals) auditVerify(cmd *cobra.Command, path string, f verifyFlags) error {
	opts, err := g.verifyOptions(cmd, f)
	if err != nil {
		return err
	}
	r, err := audit.Check(path, opts)
	if r == nil {
		return err
	}
	if r.Problem != nil && r.Problem.Kind == audit.KindNoKey {
		err = (&modelgate.Error{Code: modelgate.EINVALID, Message: r.Problem.Error(), Err: r.Problem}).
			WithHint("give the key with --key-file, records.audit_key_file or $MODELGATE_AUDIT_KEY")
	}
	if g.json() {
		return g.printVerifyJSON(r, err)
	}
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s: %d entries, chain intact", path, r.Entries)
	if r.Keyed > 0 {
		line += fmt.Sprintf(", sealed with key %s", r.KeyIDs[len(r.KeyIDs)-1])
	}
	if r.Anchors > 0 {
		line += fmt.Sprintf(", %d anchor(s) match", r.Anchors)
	}
	fmt.Fprintln(g.stdout, line)
	if w := verifyWarning(r); w != "" {
		fmt.Fprintln(g.stdout, "warning: "+w)
	}
	return nil
}

// verifyWarning says plainly what an intact result does not prove.
func verifyWarning(r *audit.Report) string {
	switch {
	case r.Entries == 0:
		return ""
	case r.Keyed == 0:
		return "this trail is not keyed (plain SHA-256): whoever can write the file can rewrite it and recompute every hash and the head undetected. " +
			"Set records.audit_key_file or MODELGATE_AUDIT_KEY to seal new entries with a key, and keep anchors (modelgate audit head) elsewhere"
	case r.Unkeyed > 0:
		return fmt.Sprintf("entries 1-%d are not keyed (written before a key was configured): whoever could write the file then could have rewritten them; the keyed entries after them pin them from then on", r.Unkeyed)
	case r.Anchors == 0:
		return "no --anchor given: someone holding the key could have rewritten the whole trail; an anchor kept elsewhere finds that"
	}
	return ""
}

// verifyJSON is a verification's result as `audit verify -o json` prints
// it and a modelgate server answers it.
type verifyJSON struct {
	*audit.Report
	OK      bool              `json:"ok"`
	Warning string            `json:"warning,omitempty"`
	Error   map[string]string `json:"error,omitempty"`
}

func verifyResult(r *audit.Report, err error) verifyJSON {
	out := verifyJSON{Report: r, OK: err == nil}
	if err == nil {
		out.Warning = verifyWarning(r)
	} else {
		out.Error = map[string]string{"code": modelgate.ErrorCode(err), "message": modelgate.ErrorMessage(err)}
	}
	return out
}

func (g *globals) printVerifyJSON(r *audit.Report, err error) error {
	if perr := g.printJSON(verifyResult(r, err)); perr != nil || err == nil {
		return perr
	}
	return &exitErr{code: exitError, msg: modelgate.ErrorMessage(err), printed: true}
}

// verifyOptions gathers the configured key, --key-file and --anchor.
func (g *globals) verifyOptions(cmd *cobra.Command, f verifyFlags) (audit.VerifyOptions, error) {
	var o audit.VerifyOptions
	cfg, err := g.config(cmd)
	if err != nil {
		return o, err
	}
	key, err := cfg.auditKey()
	if err != nil {
		return o, err
	}
	if key != nil {
		o.Keys = append(o.Keys, key)
	}
	for _, p := range f.keyFiles {
		k, err := audit.ReadKeyFile(p)
		if err != nil {
			return o, configErrorf("--key-file: %s", modelgate.ErrorMessage(err))
		}
		o.Keys = append(o.Keys, k)
	}
	for _, s := range f.anchors {
		a, err := audit.ParseAnchor(s)
		if err != nil {
			return o, &usageErr{fmt.Errorf("--anchor: %s", modelgate.ErrorMessage(err))}
		}
		o.Anchors = append(o.Anchors, a)
	}
	return o, nil
}

func newAuditHeadCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "head PATH",
		Short: "Print the trail's last entry as SEQ:HASH, an anchor to keep outside the trail",
		Long: `Head prints the sequence and hash of the trail's last entry, after checking that
entry's own hash (with the configured key when the trail is keyed). Keep the
anchor where the trail's writers cannot change it (a ticket, a registry tag, another
machine) and give it back to modelgate audit verify --anchor: a trail rewritten
since, even by someone holding the key, no longer holds it.`,
		Example: `  modelgate audit head .modelgate/audit.jsonl`,
		Args:    nArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			l := &audit.Log{Path: args[0]}
			if l.Key, err = cfg.auditKey(); err != nil {
				return err
			}
			seq, hash, err := l.Head(cmd.Context())
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(audit.Anchor{Seq: seq, Hash: hash})
			}
			fmt.Fprintln(g.stdout, audit.Anchor{Seq: seq, Hash: hash})
			return nil
		},
	}
}

func newAuditRotateKeyCmd(g *globals) *cobra.Command {
	var newKeyFile, reason string
	cmd := &cobra.Command{
		Use:   "rotate-key --new-key-file FILE",
		Short: "Seal the audit trail with a new key from now on",
		Long: `Rotate-key appends to the configured trail (records.audit) an entry that names
the new key's id, sealed with the current key (records.audit_key_file or
$MODELGATE_AUDIT_KEY); every later entry must be sealed with the new key.
Afterwards configure the new key, and keep the old one: verifying the entries
before the rotation needs it (modelgate audit verify --key-file OLD).`,
		Example: `  modelgate audit rotate-key --new-key-file /run/secrets/audit-key-2026 --reason "yearly rotation"`,
		Args:    nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.rotateKey(cmd, newKeyFile, reason)
		},
	}
	cmd.Flags().StringVar(&newKeyFile, "new-key-file", "", "the new key (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the record")
	return cmd
}

func (g *globals) rotateKey(cmd *cobra.Command, newKeyFile, reason string) error {
	if newKeyFile == "" {
		return &usageErr{fmt.Errorf("rotate-key needs --new-key-file")}
	}
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	key, err := cfg.auditKey()
	if err != nil {
		return err
	}
	next, err := audit.ReadKeyFile(newKeyFile)
	if err != nil {
		return configErrorf("--new-key-file: %s", modelgate.ErrorMessage(err))
	}
	trail, rotator, closeTrail, err := openKeyRotator(cfg, key)
	if err != nil {
		return err
	}
	defer closeTrail()
	name, source := actorAndSource()
	e, err := rotator.RotateKey(cmd.Context(), modelgate.AuditEntry{Actor: name, ActorSource: source, Detail: reason}, next)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(map[string]any{"path": trail, "seq": e.Seq, "key_id": e.KeyID, "next_key_id": e.NextKeyID})
	}
	fmt.Fprintf(g.stdout, "%s: entry %d rotates the key from %s to %s.\n", trail, e.Seq, e.KeyID, e.NextKeyID)
	fmt.Fprintln(g.stdout, "Configure the new key before the next run, and keep the old one to verify entries up to this one.")
	return nil
}

// keyRotator is the audit trail's key rotation, which audit.Log and
// postgres.AuditLog both offer.
type keyRotator interface {
	RotateKey(ctx context.Context, e modelgate.AuditEntry, newKey []byte) (modelgate.AuditEntry, error)
}

// openKeyRotator opens the configured trail (the file records.audit, or the
// database of state.type postgres) sealed with key, and names it.
func openKeyRotator(cfg *Config, key []byte) (name string, r keyRotator, closeTrail func(), err error) {
	if cfg.State.Type == "postgres" {
		db, err := cfg.openPostgres()
		if err != nil {
			return "", nil, nil, err
		}
		l := postgres.NewAuditLog(db)
		l.Key = key
		return "the audit trail in PostgreSQL ($" + cfg.State.DSNEnv + ")", l, func() { db.Close() }, nil
	}
	l, err := audit.Open(cfg.path(cfg.Records.Audit))
	if err != nil {
		return "", nil, nil, err
	}
	l.Key = key
	return l.Path, l, func() {}, nil
}

// auditKey is the audit trail's key from records.audit_key_file or the
// variable records.audit_key_env names; nil when neither is set. Both set to
// different keys is an error rather than a silent choice.
func (c *Config) auditKey() ([]byte, error) {
	var file, env []byte
	if p := c.Records.AuditKeyFile; p != "" {
		k, err := audit.ReadKeyFile(c.path(p))
		if err != nil {
			return nil, configErrorf("records.audit_key_file: %s", modelgate.ErrorMessage(err))
		}
		file = k
	}
	if name := c.Records.AuditKeyEnv; name != "" && os.Getenv(name) != "" {
		k, err := audit.ParseKey([]byte(os.Getenv(name)))
		if err != nil {
			return nil, configErrorf("$%s (records.audit_key_env): %s", name, modelgate.ErrorMessage(err))
		}
		env = k
	}
	if file != nil && env != nil && !bytes.Equal(file, env) {
		return nil, configErrorf("records.audit_key_file and $%s hold different audit keys (%s, %s): keep one",
			c.Records.AuditKeyEnv, audit.KeyID(file), audit.KeyID(env))
	}
	if file != nil {
		return file, nil
	}
	return env, nil
}
