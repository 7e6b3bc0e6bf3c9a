package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/modelgate/modelgate"
)

var _ modelgate.AuditReader = (*Log)(nil)

// maxLine bounds one entry when reading the trail back; an entry carries
// evidence, so it may be long, but not without end.
const maxLine = 16 << 20

// Entries returns the promotion's entries, oldest first. It reads the file
// without verifying it (`modelgate audit verify` does that) and skips lines
// that do not parse.
func (l *Log) Entries(ctx context.Context, promotionID string) ([]modelgate.AuditEntry, error) {
	f, err := os.Open(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []modelgate.AuditEntry
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var e modelgate.AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.PromotionID == promotionID {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read audit trail %s: %w", l.Path, err)
	}
	return out, nil
}
