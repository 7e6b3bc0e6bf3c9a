package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate"
)

// reference returns the candidate's training reference profile from its
// verified artifact; nil when the version has none. It is read at every
// look (a small file), so the Service keeps no state per promotion.
func (s *Service) reference(ctx context.Context, p *modelgate.Promotion) (*modelgate.Profile, error) {
	d, err := s.deployment(ctx, p.Model, p.Version)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(d.ModelDir, modelgate.ReferenceProfileFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read reference profile: %w", err)
	}
	var prof modelgate.Profile
	if err := json.Unmarshal(b, &prof); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "%s of %s version %s is not a profile: %v", modelgate.ReferenceProfileFile, p.Model, p.Version, err)
	}
	return &prof, nil
}
