package service

import (
	"testing"
)

// TestOwner_allows follows acl(5)'s access check: owner, named user,
// groups (owning and named, only those once one matches), others; the mask
// limits all but the owner and the others.
func TestOwner_allows(t *testing.T) {
	ann := Account{Name: "ann", UID: 1000, GID: 1000, Groups: []int{1000, 50}}
	acl := func(es ...aclEntry) []aclEntry { return es }
	e := func(tag aclTag, perm access, id int) aclEntry { return aclEntry{tag: tag, perm: perm, id: id} }
	const rx, rwx, none = accessRead | accessSearch, accessRead | accessWrite | accessSearch, access(0)
	for _, tt := range []struct {
		name string
		o    owner
		want access
		ok   bool
	}{
		{"owner bits", owner{uid: 1000, gid: 1, mode: 0o700}, rwx, true},
		{"owner bits only, even when others may", owner{uid: 1000, gid: 1, mode: 0o077}, accessSearch, false},
		{"primary group", owner{uid: 1, gid: 1000, mode: 0o750}, rx, true},
		{"supplementary group", owner{uid: 1, gid: 50, mode: 0o710}, accessSearch, true},
		{"group bits decide for a member", owner{uid: 1, gid: 50, mode: 0o705}, accessSearch, false},
		{"others", owner{uid: 1, gid: 2, mode: 0o751}, accessSearch, true},
		{"others closed", owner{uid: 1, gid: 2, mode: 0o750}, accessSearch, false},
		{"closed to all", owner{uid: 1, gid: 2, mode: 0o000}, accessRead, false},
		{"named user", owner{uid: 1, gid: 2, mode: 0o750, acl: acl(e(aclUserObj, rwx, 0), e(aclUser, rx, 1000),
			e(aclGroupObj, rx, 0), e(aclMask, rx, 0), e(aclOther, none, 0))}, accessSearch, true},
		{"named user under the mask", owner{uid: 1, gid: 2, mode: 0o700, acl: acl(e(aclUserObj, rwx, 0), e(aclUser, rwx, 1000),
			e(aclGroupObj, none, 0), e(aclMask, accessRead, 0), e(aclOther, rwx, 0))}, accessSearch, false},
		{"named group", owner{uid: 1, gid: 2, mode: 0o750, acl: acl(e(aclUserObj, rwx, 0), e(aclGroupObj, none, 0),
			e(aclGroup, rwx, 50), e(aclMask, rwx, 0), e(aclOther, none, 0))}, rwx, true},
		{"a matching group entry that does not grant stops the others'", owner{uid: 1, gid: 2, mode: 0o750,
			acl: acl(e(aclUserObj, rwx, 0), e(aclGroupObj, none, 0), e(aclGroup, none, 50), e(aclMask, rwx, 0),
				e(aclOther, rwx, 0))}, accessSearch, false},
		{"no entry matches: others", owner{uid: 1, gid: 2, mode: 0o750, acl: acl(e(aclUserObj, rwx, 0),
			e(aclGroupObj, none, 0), e(aclGroup, rwx, 77), e(aclMask, rwx, 0), e(aclOther, accessSearch, 0))}, accessSearch, true},
	} {
		if got := tt.o.allows(ann, tt.want); got != tt.ok {
			t.Errorf("%s: allows(%03b) = %v, want %v", tt.name, tt.want, got, tt.ok)
		}
	}
	if !(&owner{uid: 1, gid: 2, mode: 0}).allows(Account{Name: "root"}, accessRead|accessWrite|accessSearch) {
		t.Error("root refused")
	}
}

func TestParseACL(t *testing.T) {
	// getfattr -n system.posix_acl_access of "user::rwx user:1000:r-x
	// group::--- mask::r-x other::---".
	b := []byte{2, 0, 0, 0,
		1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
		2, 0, 5, 0, 0xe8, 3, 0, 0,
		4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}
	es, err := parseACL(b)
	if err != nil || len(es) != 5 || es[1] != (aclEntry{tag: aclUser, perm: 5, id: 1000}) || es[3].tag != aclMask {
		t.Errorf("parseACL = %+v, %v", es, err)
	}
	for _, bad := range [][]byte{nil, {1, 0, 0, 0}, {2, 0, 0, 0, 1}} {
		if _, err := parseACL(bad); err == nil {
			t.Errorf("parseACL(%v) accepted", bad)
		}
	}
}
