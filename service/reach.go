package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// access is a set of permission bits as in a mode's "rwx" triplet.
type access uint8

const (
	accessSearch access = 1 // x on a folder: enter it
	accessWrite  access = 2
	accessRead   access = 4
)

// owner is who a file belongs to and the bits that decide for everyone else.
type owner struct {
	uid, gid int
	mode     fs.FileMode
	acl      []aclEntry // nil without a POSIX access ACL
}

// aclEntry is one entry of a POSIX.1e access ACL (acl(5)).
type aclEntry struct {
	tag  aclTag
	perm access
	id   int // of a named user or group
}

type aclTag uint16

// Tags as in the kernel's posix_acl_xattr format (linux/posix_acl.h).
const (
	aclUserObj  aclTag = 0x01
	aclUser     aclTag = 0x02
	aclGroupObj aclTag = 0x04
	aclGroup    aclTag = 0x08
	aclMask     aclTag = 0x10
	aclOther    aclTag = 0x20
)

// reach checks that acct can enter every folder from the root down to p
// and then do want on p itself; root is the folder "/" stands for ("" for
// the real one; tests use a temporary folder). Symbolic links are followed,
// as the service will follow them. The error names the path as configured
// and the step that stops the account, with a fix.
func reach(root, p string, acct Account, want access) error {
	full := p
	if root != "" {
		full = filepath.Join(root, p)
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("service: the service user %s cannot %s %s: it does not exist", acct.Name, verb(want), p)
		}
		return fmt.Errorf("service: check %s: %w", p, err)
	}
	base := string(filepath.Separator)
	if root != "" {
		if r, err := filepath.EvalSymlinks(root); err == nil && within(real, r) {
			base = r
		}
	}
	show := func(d string) string {
		if base == string(filepath.Separator) {
			return d
		}
		rel, _ := filepath.Rel(base, d)
		return string(filepath.Separator) + filepath.ToSlash(rel)
	}
	// The folders on the way: base, then each one below it up to p's.
	rel, err := filepath.Rel(base, filepath.Dir(real))
	if err != nil {
		return fmt.Errorf("service: check %s: %w", p, err)
	}
	dirs := []string{base}
	if rel != "." {
		d := base
		for _, part := range strings.Split(rel, string(filepath.Separator)) {
			d = filepath.Join(d, part)
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		o, err := ownerOf(d)
		if err != nil {
			return fmt.Errorf("service: check %s: %w", p, err)
		}
		if o != nil && !o.allows(acct, accessSearch) {
			return fmt.Errorf("service: the service user %s cannot reach %s: it may not enter %s (%s); "+
				"let it pass: chmod o+x %[3]s, or give the folder a group %[1]s is in and chmod g+x",
				acct.Name, p, show(d), o)
		}
	}
	o, err := ownerOf(real)
	if err != nil {
		return fmt.Errorf("service: check %s: %w", p, err)
	}
	if o == nil || o.allows(acct, want) {
		return nil
	}
	if want&accessWrite != 0 {
		return fmt.Errorf("service: the service user %s cannot write in %s (%s); make it the owner "+
			"(chown %[1]s %[2]s) or give it group write permission", acct.Name, p, o)
	}
	return fmt.Errorf("service: the service user %s cannot read %s (%s); give it read permission, "+
		"e.g. chgrp %[1]s %[2]s && chmod g+r %[2]s", acct.Name, p, o)
}

func verb(want access) string {
	if want&accessWrite != 0 {
		return "write in"
	}
	return "read"
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// allows decides as the kernel does (acl(5), "Access check algorithm"):
// the owner's bits for the owner, else a matching named user entry, else
// the owning group's or a named group's entries if the account is in one
// of those groups (and then only those), else the others' bits. Root
// passes everything the service needs.
func (o *owner) allows(a Account, want access) bool {
	if a.UID == 0 {
		return true
	}
	perm := uint32(o.mode.Perm())
	if o.uid == a.UID {
		return access(perm>>6)&want == want
	}
	in := func(gid int) bool { return gid == a.GID || slices.Contains(a.Groups, gid) }
	if o.acl == nil {
		if in(o.gid) {
			return access(perm>>3)&want == want
		}
		return access(perm)&want == want
	}
	mask := access(7)
	for _, e := range o.acl {
		if e.tag == aclMask {
			mask = e.perm
		}
	}
	for _, e := range o.acl {
		if e.tag == aclUser && e.id == a.UID {
			return e.perm&mask&want == want
		}
	}
	matched := false
	for _, e := range o.acl {
		if (e.tag == aclGroupObj && in(o.gid)) || (e.tag == aclGroup && in(e.id)) {
			if e.perm&mask&want == want {
				return true
			}
			matched = true
		}
	}
	if matched {
		return false
	}
	for _, e := range o.acl {
		if e.tag == aclOther {
			return e.perm&want == want
		}
	}
	return false
}

// String shows the owner, group and mode as ls would, with names where the
// system knows them.
func (o *owner) String() string {
	u, g := strconv.Itoa(o.uid), strconv.Itoa(o.gid)
	if x, err := user.LookupId(u); err == nil {
		u = x.Username
	}
	if x, err := user.LookupGroupId(g); err == nil {
		g = x.Name
	}
	s := fmt.Sprintf("owner %s, group %s, mode %04o", u, g, uint32(o.mode.Perm()))
	if o.acl != nil {
		s += " and an access ACL"
	}
	return s
}

// ownerOf reads a file's owner, mode and access ACL; nil where the system
// has no such notion (Windows).
func ownerOf(p string) (*owner, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	uid, gid, ok := fileIDs(fi)
	if !ok {
		return nil, nil
	}
	acl, err := readACL(p)
	if err != nil {
		return nil, err
	}
	return &owner{uid: uid, gid: gid, mode: fi.Mode(), acl: acl}, nil
}

// parseACL reads the kernel's posix_acl_xattr format: a little-endian
// version 2 header, then entries of tag (16 bits), permissions (16 bits)
// and id (32 bits).
func parseACL(b []byte) ([]aclEntry, error) {
	le16 := func(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
	le32 := func(b []byte) uint32 { return uint32(le16(b)) | uint32(le16(b[2:]))<<16 }
	if len(b) < 4 || le32(b) != 2 || (len(b)-4)%8 != 0 {
		return nil, errors.New("not a POSIX ACL (version 2)")
	}
	var es []aclEntry
	for b = b[4:]; len(b) > 0; b = b[8:] {
		es = append(es, aclEntry{tag: aclTag(le16(b)), perm: access(le16(b[2:]) & 7), id: int(le32(b[4:]))})
	}
	return es, nil
}
