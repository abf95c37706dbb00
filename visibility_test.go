package crm

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestVisibility(t *testing.T) {
	t.Parallel()
	me, other := NewID(), NewID()
	myTeam, otherTeam := NewID(), NewID()
	agent := VisibilityFor(Principal{UserID: me, Role: RoleAgent}, []uuid.UUID{myTeam})
	supervisor := VisibilityFor(Principal{UserID: me, Role: RoleSupervisor}, []uuid.UUID{myTeam})
	admin := VisibilityFor(Principal{UserID: me, Role: RoleTenantAdmin}, nil)
	cases := []struct {
		name           string
		assignee, team *uuid.UUID
		agent, sup     bool
	}{
		{"mine", &me, nil, true, true},
		{"mine in another team", &me, &otherTeam, true, true},
		{"unassigned queue", nil, nil, true, true},
		{"my team, unassigned", nil, &myTeam, true, true},
		{"my team, someone else's", &other, &myTeam, false, true},
		{"other team, unassigned", nil, &otherTeam, false, false},
		{"someone else's, no team", &other, nil, false, false},
		{"other team, someone else's", &other, &otherTeam, false, false},
	}
	for _, tc := range cases {
		require.Equal(t, tc.agent, agent.Sees(tc.assignee, tc.team), "agent: %s", tc.name)
		require.Equal(t, tc.sup, supervisor.Sees(tc.assignee, tc.team), "supervisor: %s", tc.name)
		require.True(t, admin.Sees(tc.assignee, tc.team), "admin: %s", tc.name)
	}
}
