package channels

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"crm"
)

// MakeStorable rewrites every string of a parsed event, however deep (text,
// captions, profile names, file names, contact cards, titles, ids, map keys
// and values), with crm.StorableText: a customer's message with a NUL
// character in it is still a message to store, and PostgreSQL refuses NUL in
// text and jsonb. It walks the message by reflection, so a field added to
// the events later is covered too.
func MakeStorable(m proto.Message) {
	makeStorable(m.ProtoReflect())
}

// storable is s made storable, and whether that changed it.
func storable(v protoreflect.Value) (protoreflect.Value, bool) {
	s := v.String()
	clean := crm.StorableText(s)
	return protoreflect.ValueOfString(clean), clean != s
}

func isMessage(kind protoreflect.Kind) bool {
	return kind == protoreflect.MessageKind || kind == protoreflect.GroupKind
}

// makeStorable cleans m in place. Fields and map entries are set after
// their walk: a message or map is not changed while it is ranged.
func makeStorable(m protoreflect.Message) {
	type change struct {
		field protoreflect.FieldDescriptor
		value protoreflect.Value
	}
	var changes []change
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				if fd.Kind() == protoreflect.StringKind {
					if clean, changed := storable(list.Get(i)); changed {
						list.Set(i, clean)
					}
				} else if isMessage(fd.Kind()) {
					makeStorable(list.Get(i).Message())
				}
			}
		case fd.IsMap():
			makeMapStorable(fd, v.Map())
		case fd.Kind() == protoreflect.StringKind:
			if clean, changed := storable(v); changed {
				changes = append(changes, change{fd, clean})
			}
		case isMessage(fd.Kind()):
			makeStorable(v.Message())
		}
		return true
	})
	for _, c := range changes {
		m.Set(c.field, c.value)
	}
}

func makeMapStorable(fd protoreflect.FieldDescriptor, mp protoreflect.Map) {
	type entry struct {
		old   protoreflect.MapKey
		key   protoreflect.MapKey
		value protoreflect.Value
	}
	var changes []entry
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		e := entry{old: k, key: k, value: v}
		changed := false
		if fd.MapKey().Kind() == protoreflect.StringKind {
			var key protoreflect.Value
			if key, changed = storable(k.Value()); changed {
				e.key = key.MapKey()
			}
		}
		switch kind := fd.MapValue().Kind(); {
		case kind == protoreflect.StringKind:
			var valueChanged bool
			e.value, valueChanged = storable(v)
			changed = changed || valueChanged
		case isMessage(kind):
			makeStorable(v.Message())
		}
		if changed {
			changes = append(changes, e)
		}
		return true
	})
	for _, e := range changes {
		mp.Clear(e.old)
		mp.Set(e.key, e.value)
	}
}
