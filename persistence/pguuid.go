package persistence

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// RegisterUUID teaches a connection's type map to move google/uuid values
// as the 16 bytes of PostgreSQL's binary uuid. Left alone, pgx sees a
// uuid.UUID as a driver.Valuer: each one is formatted to its 36-character
// string and parsed back, and each is scanned through sql.Scanner from a
// string, which in the engine's batches (arrays of thousands of ids) was
// the largest single cost of encoding a query. The jackc/pgx-google-uuid
// package does this job but is not served by this module proxy.
func RegisterUUID(m *pgtype.Map) {
	elem := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}}
	m.RegisterType(elem)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: elem}})
	// Slices of ids as arrays without reflection (before pgx's own wrappers,
	// which would take the reflective path for them).
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{wrapUUIDSlice}, m.TryWrapEncodePlanFuncs...)
}

// uuidCodec is pgx's UUIDCodec that also knows uuid.UUID and *uuid.UUID.
type uuidCodec struct{ pgtype.UUIDCodec }

func (c uuidCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if format == pgtype.BinaryFormatCode {
		switch value.(type) {
		case uuid.UUID, *uuid.UUID:
			return encodeUUIDBinary{}
		}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if format == pgtype.BinaryFormatCode {
		switch target.(type) {
		case *uuid.UUID:
			return scanUUIDBinary{}
		case **uuid.UUID:
			return scanUUIDPtrBinary{}
		}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

type encodeUUIDBinary struct{}

func (encodeUUIDBinary) Encode(value any, buf []byte) ([]byte, error) {
	switch v := value.(type) {
	case uuid.UUID:
		return append(buf, v[:]...), nil
	case *uuid.UUID:
		if v == nil {
			return nil, nil // NULL
		}
		return append(buf, v[:]...), nil
	}
	return nil, fmt.Errorf("cannot encode %T as uuid", value)
}

type scanUUIDBinary struct{}

func (scanUUIDBinary) Scan(src []byte, dst any) error {
	if src == nil {
		return fmt.Errorf("cannot scan NULL into %T", dst)
	}
	if len(src) != 16 {
		return fmt.Errorf("invalid length for uuid: %v", len(src))
	}
	copy(dst.(*uuid.UUID)[:], src)
	return nil
}

type scanUUIDPtrBinary struct{}

func (scanUUIDPtrBinary) Scan(src []byte, dst any) error {
	p := dst.(**uuid.UUID)
	if src == nil {
		*p = nil
		return nil
	}
	if len(src) != 16 {
		return fmt.Errorf("invalid length for uuid: %v", len(src))
	}
	var u uuid.UUID
	copy(u[:], src)
	*p = &u
	return nil
}

// wrapUUIDSlice presents []uuid.UUID and []*uuid.UUID as pgx arrays.
func wrapUUIDSlice(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	switch v := value.(type) {
	case []uuid.UUID:
		return &uuidSlicePlan[uuid.UUID]{}, pgtype.FlatArray[uuid.UUID](v), true
	case []*uuid.UUID:
		return &uuidSlicePlan[*uuid.UUID]{}, pgtype.FlatArray[*uuid.UUID](v), true
	}
	return nil, nil, false
}

type uuidSlicePlan[T uuid.UUID | *uuid.UUID] struct{ next pgtype.EncodePlan }

func (p *uuidSlicePlan[T]) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidSlicePlan[T]) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(pgtype.FlatArray[T](value.([]T)), buf)
}
