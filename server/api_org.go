package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindOrgRoutes binds units and users. Creating them and freezing a user
// need an administrator here; unfreezing and reassigning need only a
// user, because the engine checks that the caller is an administrator.
func (s *server) bindOrgRoutes(e *echo.Echo, user, admin []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.POST(v1+"/units", s.createUnit, admin...)
	e.PATCH(v1+"/units/:key", s.updateUnit, admin...)
	e.POST(v1+"/users", s.createUser, admin...)
	e.POST(v1+"/users/:id/freeze", s.freezeUser, admin...)
	e.POST(v1+"/users/:id/unfreeze", s.unfreezeUser, user...)
	e.POST(v1+"/users/:id/reassign", s.startReassign, user...)
	e.GET(v1+"/users/:id/reassign", s.getReassign, user...)
}

type unitBody struct {
	Key    string      `json:"key"`
	Name   engine.Text `json:"name"`
	Parent string      `json:"parent,omitempty"`
}

// createUnit adds an organisation unit (admin).
func (s *server) createUnit(c echo.Context) error {
	var in unitBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := s.svc.CreateUnit(c.Request().Context(), principal(c), engine.Unit{Key: in.Key, Name: in.Name, Parent: in.Parent})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

type unitPatch struct {
	Head *string `json:"head"`
}

// updateUnit sets the unit's head by email (or user id); "" clears it.
func (s *server) updateUnit(c echo.Context) error {
	var in unitPatch
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Head == nil {
		return engine.Invalid(engine.FieldError{Field: "/head", Code: "required", Message: engine.T("请给出单位负责人的邮箱", "give the head's email")})
	}
	u, err := s.svc.SetUnitHead(c.Request().Context(), principal(c), c.Param("key"), *in.Head)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

type userBody struct {
	Email    string              `json:"email"`
	Name     string              `json:"name"`
	Password string              `json:"password"`
	Unit     string              `json:"unit"`
	Roles    map[string][]string `json:"roles,omitempty"`
	Admin    bool                `json:"admin,omitempty"`
	Auditor  bool                `json:"auditor,omitempty"`
}

// createUser adds a user (admin) → 201 with the user.
func (s *server) createUser(c echo.Context) error {
	var in userBody
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := s.svc.CreateUser(c.Request().Context(), principal(c), engine.NewUser{
		Email: in.Email, Name: in.Name, Unit: in.Unit, Admin: in.Admin, Auditor: in.Auditor, Roles: in.Roles, Password: in.Password})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/users/"+u.ID)
	return c.JSON(http.StatusCreated, userOut(u))
}

// freezeUser locks a user out at once, sessions and tokens too (admin,
// checked by the engine; not oneself).
func (s *server) freezeUser(c echo.Context) error {
	if c.Request().ContentLength > 0 {
		var in struct{}
		if err := s.decodeJSON(c, &in); err != nil {
			return err
		}
	}
	u, err := s.svc.FreezeUser(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userOut(u))
}

// unfreezeUser lets a frozen user sign in again (admin, checked by the engine).
func (s *server) unfreezeUser(c echo.Context) error {
	if c.Request().ContentLength > 0 {
		var in struct{}
		if err := s.decodeJSON(c, &in); err != nil {
			return err
		}
	}
	u, err := s.svc.UnfreezeUser(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userOut(u))
}

// startReassign starts moving a frozen user's records to {"to": id or
// email} in the background → 202 with the run (admin, checked by the engine).
func (s *server) startReassign(c echo.Context) error {
	var in struct {
		To string `json:"to"`
	}
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := s.svc.StartReassign(c.Request().Context(), principal(c), c.Param("id"), in.To)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, reassignOut(r))
}

// getReassign answers the newest reassignment of the user's records with
// its progress; 404 when there was none.
func (s *server) getReassign(c echo.Context) error {
	r, err := s.svc.LatestReassignment(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	if r == nil {
		return engine.Errorf(engine.ENOTFOUND, engine.T("该用户没有记录转移", "no reassignment for this user"))
	}
	return c.JSON(http.StatusOK, reassignOut(r))
}

type reassignJSON struct {
	*engine.Reassignment
	Percent int `json:"percent"`
}

func reassignOut(r *engine.Reassignment) reassignJSON {
	return reassignJSON{Reassignment: r, Percent: r.Percent()}
}
