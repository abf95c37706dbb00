package actors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

// KindTenant is the tenant grain: plan limits and feature flags, tenant
// status and license state, answering "may I?" from memory.
const KindTenant = "tenant"

// SendGate says whether a tenant's license lets it send (nil: yes).
type SendGate func(ctx context.Context, tenantID uuid.UUID) error

// Actions a tenant grain answers.
const (
	ActionSend    = "send"     // may the tenant send messages now?
	ActionRefresh = "refresh"  // reload the tenant's state (after a change)
	FeaturePrefix = "feature:" // e.g. feature:campaigns
)

// tenantGrain keeps its tenant's state for stateTTL, so the hot path (every
// send, every bot step) does not read plans and licenses from the database.
// Plan changes, suspensions and revocations reach it at once through
// ActionRefresh from the node that made them, and within stateTTL elsewhere.
// Limits themselves are enforced by the database at insert time (race-free
// across nodes and duplicate activations); the grain only answers early.
type tenantGrain struct {
	engine   *Engine
	tenant   uuid.UUID
	state    crm.TenantState
	license  error
	loadedAt time.Time
}

const stateTTL = 30 * time.Second

func (g *tenantGrain) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *pcluster.ClusterInit:
		var err error
		if g.tenant, err = uuid.Parse(msg.Identity.Identity); err != nil {
			g.engine.log.Error("tenant grain with a bad identity", "identity", msg.Identity.Identity, "error", err)
			ctx.Stop(ctx.Self())
			return
		}
		g.engine.metrics.activations.WithLabelValues(KindTenant).Inc()
		ctx.SetReceiveTimeout(g.engine.cfg.PassivateAfter)
	case *actor.ReceiveTimeout:
		ctx.Poison(ctx.Self())
	case *crmpb.MayI:
		ctx.Respond(g.mayI(msg))
	}
}

func (g *tenantGrain) load(force bool) error {
	if !force && !g.loadedAt.IsZero() && time.Since(g.loadedAt) < stateTTL {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	state, err := g.engine.db.TenantState(ctx, g.tenant)
	if err != nil {
		return err
	}
	g.state, g.license = state, nil
	if g.engine.cfg.SendGate != nil {
		g.license = g.engine.cfg.SendGate(ctx, g.tenant)
	}
	g.loadedAt = time.Now()
	return nil
}

func (g *tenantGrain) mayI(req *crmpb.MayI) *crmpb.MayIResult {
	if err := g.load(req.GetAction() == ActionRefresh); err != nil {
		return &crmpb.MayIResult{Allowed: false, Reason: "unavailable: " + err.Error()}
	}
	switch action := req.GetAction(); {
	case action == ActionRefresh:
		return &crmpb.MayIResult{Allowed: true}
	case action == ActionSend:
		if err := g.state.Err(); err != nil {
			return &crmpb.MayIResult{Allowed: false, Reason: reasonOf(err)}
		}
		if g.license != nil {
			return &crmpb.MayIResult{Allowed: false, Reason: reasonOf(g.license)}
		}
		return &crmpb.MayIResult{Allowed: true}
	case strings.HasPrefix(action, FeaturePrefix):
		if g.state.Features.Enabled(strings.TrimPrefix(action, FeaturePrefix)) {
			return &crmpb.MayIResult{Allowed: true}
		}
		return &crmpb.MayIResult{Allowed: false, Reason: "feature_disabled"}
	}
	return &crmpb.MayIResult{Allowed: false, Reason: "unknown action " + req.GetAction()}
}

// reasonOf keeps a coded error's code and details as "code:detail".
func reasonOf(err error) string {
	var coded *crm.Error
	if errors.As(err, &coded) {
		if r, ok := coded.Details["reason"].(string); ok && r != "" {
			return coded.Code + ":" + r
		}
		return coded.Code
	}
	return err.Error()
}

// MayI asks the tenant's grain. A refusal comes back as the coded error the
// API answers with (403 tenant_suspended, 402 license_invalid, 402
// feature_disabled).
func (e *Engine) MayI(ctx context.Context, tenantID uuid.UUID, action string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := e.request(ctx, tenantID.String(), KindTenant, &crmpb.MayI{TenantId: tenantID.String(), Action: action})
	if err != nil {
		return err
	}
	res, ok := resp.(*crmpb.MayIResult)
	if !ok {
		return fmt.Errorf("tenant grain answered %T", resp)
	}
	if res.GetAllowed() {
		return nil
	}
	code, detail, _ := strings.Cut(res.GetReason(), ":")
	switch code {
	case "tenant_suspended":
		return crm.NewError(crm.ErrForbidden, "tenant_suspended", "this company's account is suspended", nil)
	case "license_invalid":
		return persistence.LicenseInvalid(detail)
	case "feature_disabled":
		return crm.NewError(crm.ErrPlanLimit, "feature_disabled", "your plan does not include this feature",
			map[string]any{"feature": strings.TrimPrefix(action, FeaturePrefix)})
	case "not_found":
		return crm.NotFound("tenant")
	}
	return fmt.Errorf("tenant %s may not %s: %s", tenantID, action, res.GetReason())
}

// RefreshTenant makes the tenant's grain reload its state now (after a plan
// change, a suspension, a license issued or revoked on this node).
func (e *Engine) RefreshTenant(ctx context.Context, tenantID uuid.UUID) {
	if err := e.MayI(ctx, tenantID, ActionRefresh); err != nil {
		e.log.Warn("refreshing the tenant grain", "tenant_id", tenantID, "error", err)
	}
}
