/* path.c - lexical path normalisation (path.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "path.h"

int path_normalize(const char *in, char *out, size_t len, unsigned flags)
{
	bool lead = flags & PATH_LEADING_SLASH;
	size_t o = 0;

	if ((flags & PATH_RELATIVE) && in[0] == '/')
		return -EPERM;
	for (const char *p = in; *p;) {
		const char *s = p;
		size_t l, sep;

		while (*p && *p != '/')
			p++;
		l = (size_t)(p - s);
		if (*p)
			p++;
		if (l == 0 || (l == 1 && s[0] == '.'))
			continue;
		if (l == 2 && s[0] == '.' && s[1] == '.') {
			/* o == 0: nothing left to remove, ".." would leave the root */
			if ((flags & PATH_NO_DOTDOT) || o == 0)
				return -EINVAL;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* the separator, or the leading slash */
			continue;
		}
		sep = (lead || o > 0) ? 1 : 0;
		if (o + sep + l + 1 > len)
			return -ENAMETOOLONG;
		if (sep)
			out[o++] = '/';
		memcpy(out + o, s, l);
		o += l;
	}
	if (o == 0 && (flags & PATH_NONEMPTY))
		return -ENOENT;
	if (o == 0 && lead) {
		if (len < 2)
			return -ENAMETOOLONG;
		out[o++] = '/';
	}
	if (o + 1 > len)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return (int)o;
}

const char *path_strerror(int r)
{
	switch (r) {
	case -EPERM:
		return "absolute path";
	case -EINVAL:
		return "path has a '..' component";
	case -ENAMETOOLONG:
		return "path too long";
	case -ENOENT:
		return "empty path";
	default:
		return strerror(-r);
	}
}
