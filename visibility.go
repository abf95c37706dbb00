package crm

import "github.com/google/uuid"

// Visibility says which conversations a user may see. Agents see their own
// conversations, their teams' unassigned ones and the unassigned queue;
// supervisors see their teams' conversations and the unassigned queue;
// admins see everything in their tenant. The same rule filters lists, the
// live socket stream and the resume replay.
type Visibility struct {
	All     bool
	Role    Role
	UserID  uuid.UUID
	TeamIDs []uuid.UUID
}

// VisibilityFor builds the rule for a principal and the teams they belong to.
func VisibilityFor(p Principal, teamIDs []uuid.UUID) Visibility {
	return Visibility{All: p.Role.Can(PermConversationsAll), Role: p.Role, UserID: p.UserID, TeamIDs: teamIDs}
}

func (v Visibility) inTeams(team *uuid.UUID) bool {
	if team == nil {
		return false
	}
	for _, t := range v.TeamIDs {
		if t == *team {
			return true
		}
	}
	return false
}

// Sees reports whether a conversation with this assignee and team is visible.
func (v Visibility) Sees(assignee, team *uuid.UUID) bool {
	switch {
	case v.All:
		return true
	case assignee != nil && *assignee == v.UserID:
		return true
	case assignee == nil && team == nil:
		return true // the unassigned queue
	case v.Role == RoleSupervisor:
		return v.inTeams(team)
	default:
		return assignee == nil && v.inTeams(team)
	}
}
