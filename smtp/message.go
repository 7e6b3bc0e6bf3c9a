package smtp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/modelgate/modelgate"
)

// SubjectPrefix starts every subject, for mail filters.
const SubjectPrefix = "[modelgate] "

// Subject is the e-mail subject of nt, e.g.
// "[modelgate] demand-forecast v3 rolled back".
func Subject(nt modelgate.Notification) string { return SubjectPrefix + nt.Title() }

// message renders nt as an RFC 5322 message: UTF-8 plain text, quoted-
// printable so long lines and non-ASCII text survive any relay.
func (n *Notifier) message(nt modelgate.Notification) []byte {
	now := time.Now
	if n.opts.Now != nil {
		now = n.opts.Now
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", (&mail.Address{Name: "modelgate", Address: n.opts.From}).String())
	header("To", strings.Join(n.opts.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", Subject(nt)))
	header("Date", now().Format(time.RFC1123Z))
	header("Message-ID", n.messageID())
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	if p := nt.Promotion; p != nil {
		header("X-Modelgate-Promotion", oneLine(p.ID))
	}
	header("X-Modelgate-Kind", oneLine(nt.Kind))
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(strings.ReplaceAll(nt.Text(), "\n", "\r\n")))
	_ = w.Close()
	return b.Bytes()
}

func (n *Notifier) messageID() string {
	host := n.opts.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	if host == "" || strings.ContainsAny(host, "<>@ \r\n") {
		host = "modelgate.invalid"
	}
	r := make([]byte, 12)
	_, _ = rand.Read(r)
	return "<" + hex.EncodeToString(r) + "@" + host + ">"
}

// oneLine keeps a value from breaking out of its header.
func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
