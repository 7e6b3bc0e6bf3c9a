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
// verified artifact, read once per promotion; nil when the version has none.
func (s *Service) reference(ctx context.Context, p *modelgate.Promotion) (*modelgate.Profile, error) {
	if s.refFor == p.ID {
		return s.ref, nil
	}
	d, err := s.deployment(ctx, p.Model, p.Version)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(d.ModelDir, modelgate.ReferenceProfileFile))
	if errors.Is(err, fs.ErrNotExist) {
		s.ref, s.refFor = nil, p.ID
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read reference profile: %w", err)
	}
	var prof modelgate.Profile
	if err := json.Unmarshal(b, &prof); err != nil {
		return nil, modelgate.Errorf(modelgate.EINVALID, "%s of %s version %s is not a profile: %v", modelgate.ReferenceProfileFile, p.Model, p.Version, err)
	}
	s.ref, s.refFor = &prof, p.ID
	return s.ref, nil
}
