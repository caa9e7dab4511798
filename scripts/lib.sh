# lib.sh: what test.sh and bench.sh share (sourced, from the project root).

# elt_setup NAME: sets SUDO, root, work and datadir; takes the install lock.
# Installing replaces the elt of the PostgreSQL installation used, so runs
# sharing one are serialised; ELT_PG_ROOT selects a private copy instead
# (scripts/pgroot.sh), so several checkouts can run at once.
elt_setup() {
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    work=$(mktemp -d "/tmp/elt-$1.XXXXXX")
    chmod 755 "$work"
    datadir="$work/pgdata"
    root=${ELT_PG_ROOT:-}
    [ -z "$root" ] || scripts/pgroot.sh "$root"
    elt_lock
}

# elt_lock: the install lock (fd 9) for the installation in use ($root).
elt_lock() {
    exec 9>"/tmp/elt-test$(echo "${root:-}" | tr / _).lock"
    flock 9
}

# elt_install: a clean build, installed into the installation in use.
elt_install() {
    make -s clean && make -s && $SUDO make -s install DESTDIR="$root"
}
