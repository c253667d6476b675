"""The files a user names (fixture files, --xfail, --points, --conventions,
--layer-config): one wording for one that cannot be read."""


def unreadable(path, error):
    """'PATH: cannot read: why', for the OSError that reading PATH raised."""
    return f"{path}: cannot read: {error.strerror or error}"
