/*
 * test-registry.c - registry references, WWW-Authenticate challenges,
 * token replies, the credentials file (lookup, permission refusal,
 * atomic rewrite), and, when docker-registry, skopeo and umoci are
 * installed, a pull end to end from a registry this test starts on
 * 127.0.0.1 (plain http, an insecure entry), twice: the second pull
 * must find every layer present and download nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "registry.h"

extern char **environ;

/* ---- references ----------------------------------------------------------------- */

static void expect_ref(const char *in, const char *want)
{
	struct reg_ref r;
	struct error err = { 0 };
	char buf[700];

	assert_int_equal(reg_ref_parse(in, &r, &err), 0);
	reg_ref_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void expect_bad_ref(const char *in, const char *why)
{
	struct reg_ref r;
	struct error err = { 0 };

	assert_int_equal(reg_ref_parse(in, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, why));
}

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_ref_normalise(void **state)
{
	struct reg_ref r;

	(void)state;
	expect_ref("busybox", "docker.io/library/busybox:latest");
	expect_ref("busybox:1.36", "docker.io/library/busybox:1.36");
	expect_ref("docker.io/busybox", "docker.io/library/busybox:latest");
	expect_ref("index.docker.io/user/app:v1", "docker.io/user/app:v1");
	expect_ref("user/app", "docker.io/user/app:latest");
	expect_ref("localhost/app", "localhost/app:latest");
	expect_ref("127.0.0.1:5000/a/b-c_d.e:T.1", "127.0.0.1:5000/a/b-c_d.e:T.1");
	expect_ref("quay.io/org/app@sha256:" HEX, "quay.io/org/app@sha256:" HEX);
	expect_ref("quay.io/org/app:v2@sha256:" HEX, "quay.io/org/app:v2@sha256:" HEX);
	expect_ref("[::1]:5000/app", "[::1]:5000/app:latest");
	assert_int_equal(reg_ref_parse("reg.example:443/x/y@sha256:" HEX, &r, NULL), 0);
	assert_string_equal(r.host, "reg.example:443");
	assert_string_equal(r.repo, "x/y");
	assert_string_equal(r.tag, "");
	assert_string_equal(r.hex, HEX);

	expect_bad_ref("", "empty");
	expect_bad_ref("Busybox", "lowercase");
	expect_bad_ref("host.io/a//b", "lowercase");
	expect_bad_ref("host.io/-a", "lowercase");
	expect_bad_ref("host:99999/a", "bad registry host");
	expect_bad_ref("host..io/a", "bad registry host");
	expect_bad_ref("a@sha512:" HEX, "only sha256");
	expect_bad_ref("a@sha256:" HEX "0", "64 lowercase hex");
	expect_bad_ref("a@sha256:0123", "64 lowercase hex");
	expect_bad_ref("a:-tag", "bad tag");
	expect_bad_ref("a:", "bad tag");
}

static void test_ref_is_remote(void **state)
{
	(void)state;
	assert_false(image_ref_is_remote("busybox"));
	assert_false(image_ref_is_remote("busybox:1"));
	assert_false(image_ref_is_remote("myapp/web:2"));
	assert_false(image_ref_is_remote("/srv/layout:v1"));
	assert_false(image_ref_is_remote("./layout"));
	assert_false(image_ref_is_remote("../layout:v1"));
	assert_false(image_ref_is_remote("bad..host/x"));
	assert_true(image_ref_is_remote("Reg.Example/x"));
	assert_true(image_ref_is_remote("docker.io/busybox"));
	assert_true(image_ref_is_remote("localhost/x"));
	assert_true(image_ref_is_remote("localhost:5000/x:1"));
	assert_true(image_ref_is_remote("busybox@sha256:" HEX));
	assert_false(image_ref_is_remote(NULL));
}

/* ---- challenges and tokens --------------------------------------------------------- */

static void test_challenge(void **state)
{
	struct reg_challenge c;

	(void)state;
	assert_int_equal(reg_challenge_parse("Basic realm=\"Registry Realm\"", &c), 0);
	assert_int_equal(c.scheme, REG_AUTH_BASIC);
	assert_string_equal(c.realm, "Registry Realm");

	assert_int_equal(reg_challenge_parse(
			     "Bearer realm=\"https://auth.example/token\",service=\"reg.example\","
			     "scope=\"repository:lib/app:pull\"",
			     &c),
			 0);
	assert_int_equal(c.scheme, REG_AUTH_BEARER);
	assert_string_equal(c.realm, "https://auth.example/token");
	assert_string_equal(c.service, "reg.example");
	assert_string_equal(c.scope, "repository:lib/app:pull");

	/* token values, spaces around '=', escapes, unknown params, case-insensitive names */
	assert_int_equal(
	    reg_challenge_parse("bearer  REALM = https://a/t , service=svc, foo=\"x,y\", "
				"scope=\"a\\\"b\\\\c\", error=\"insufficient_scope\"",
				&c),
	    0);
	assert_int_equal(c.scheme, REG_AUTH_BEARER);
	assert_string_equal(c.realm, "https://a/t");
	assert_string_equal(c.service, "svc");
	assert_string_equal(c.scope, "a\"b\\c");
	assert_string_equal(c.error, "insufficient_scope");

	/* several challenges: Bearer wins over Basic, whatever the order */
	assert_int_equal(
	    reg_challenge_parse("Basic realm=\"r\", Bearer realm=\"https://t\",service=\"s\"", &c),
	    0);
	assert_int_equal(c.scheme, REG_AUTH_BEARER);
	assert_string_equal(c.realm, "https://t");
	assert_int_equal(reg_challenge_parse("Negotiate abc==, Basic realm=\"r\", NTLM", &c), 0);
	assert_int_equal(c.scheme, REG_AUTH_BASIC);

	assert_int_equal(reg_challenge_parse("", &c), -EINVAL);
	assert_int_equal(reg_challenge_parse("Negotiate", &c), -EINVAL);
	assert_int_equal(reg_challenge_parse("Bearer realm=\"unterminated", &c), -EINVAL);
	assert_int_equal(reg_challenge_parse("Bearer realm=\"x\\", &c), -EINVAL);
	assert_int_equal(reg_challenge_parse("Bearer service=\"no realm\"", &c), -EINVAL);
	assert_int_equal(reg_challenge_parse("Bearer realm=\"a\" junk\"", &c), -EINVAL);
}

static void test_token(void **state)
{
	struct error err = { 0 };
	char *t = NULL;
	unsigned exp = 0;
	const char *a = "{\"token\":\"abc.def\",\"expires_in\":300}";
	const char *b = "{\"access_token\":\"xyz\"}";
	const char *c = "{\"token\":\"\",\"access_token\":\"tok2\",\"expires_in\":5}";

	(void)state;
	assert_int_equal(reg_token_parse(a, strlen(a), &t, &exp, &err), 0);
	assert_string_equal(t, "abc.def");
	assert_int_equal(exp, 300);
	free(t);
	assert_int_equal(reg_token_parse(b, strlen(b), &t, &exp, &err), 0);
	assert_string_equal(t, "xyz");
	assert_int_equal(exp, 60);
	free(t);
	assert_int_equal(reg_token_parse(c, strlen(c), &t, &exp, &err), 0);
	assert_string_equal(t, "tok2");
	assert_int_equal(exp, 60); /* below the spec's minimum */
	free(t);

	assert_int_equal(reg_token_parse("{}", 2, &t, &exp, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "no token"));
	assert_null(t);
	assert_int_equal(reg_token_parse("[1]", 3, &t, &exp, &err), -EBADMSG);
	assert_int_equal(reg_token_parse("{\"token\":\"a\"} x", 15, &t, &exp, &err), -EBADMSG);
	assert_int_equal(reg_token_parse("{\"token\":\"a\\nb\"}", 16, &t, &exp, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "character"));
}

/* ---- the credentials file ------------------------------------------------------------ */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_auth_file(void **state)
{
	char dir[] = "/tmp/test-registry.XXXXXX", path[128], sub[128];
	struct error err = { 0 };
	struct stat st;
	char *u = NULL, *p = NULL;
	json_object *o, *auths, *v;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/auth.json", dir);
	/* "alice:s3cr:et" and a URL key for docker.io; a foreign key kept across rewrites */
	write_file(path,
		   "{\"auths\":{\"reg.example:5000\":{\"auth\":\"YWxpY2U6czNjcjpldA==\"},"
		   "\"https://index.docker.io/v1/\":{\"auth\":\"Ym9iOnB3\"},"
		   "\"other.example\":{\"username\":\"carol\",\"password\":\"pw2\"}},"
		   "\"credHelpers\":{\"x\":\"y\"}}",
		   0600);
	assert_int_equal(reg_auth_lookup(path, "reg.example:5000", &u, &p, &err), 0);
	assert_string_equal(u, "alice");
	assert_string_equal(p, "s3cr:et");
	free(u);
	free(p);
	assert_int_equal(reg_auth_lookup(path, "docker.io", &u, &p, &err), 0);
	assert_string_equal(u, "bob");
	assert_string_equal(p, "pw");
	free(u);
	free(p);
	assert_int_equal(reg_auth_lookup(path, "other.example", &u, &p, &err), 0);
	assert_string_equal(u, "carol");
	free(u);
	free(p);
	assert_int_equal(reg_auth_lookup(path, "reg.example", &u, &p, &err), -ENOENT);
	assert_null(u);

	/* group- or world-readable: refused, naming the file */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(reg_auth_lookup(path, "reg.example:5000", &u, &p, &err), -EPERM);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(reg_auth_update(path, "new.example", "u", "p", &err), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);

	/* login: new entry, others and foreign keys kept, 0600, no temporary file left */
	assert_int_equal(reg_auth_update(path, "new.example", "dave", "pa:ss", &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(reg_auth_lookup(path, "new.example", &u, &p, &err), 0);
	assert_string_equal(u, "dave");
	assert_string_equal(p, "pa:ss");
	free(u);
	free(p);
	o = json_object_from_file(path);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "credHelpers", &v));
	assert_true(json_object_object_get_ex(o, "auths", &auths));
	assert_true(json_object_object_get_ex(auths, "new.example", &v));
	assert_true(json_object_object_get_ex(v, "auth", &v));
	assert_string_equal(json_object_get_string(v), "ZGF2ZTpwYTpzcw==");
	json_object_put(o);

	/* logout: the URL-form key of docker.io goes too; a second logout is -ENOENT */
	assert_int_equal(reg_auth_update(path, "docker.io", NULL, NULL, &err), 0);
	assert_int_equal(reg_auth_lookup(path, "docker.io", &u, &p, &err), -ENOENT);
	assert_int_equal(reg_auth_update(path, "docker.io", NULL, NULL, &err), -ENOENT);
	assert_int_equal(reg_auth_lookup(path, "reg.example:5000", &u, &p, &err), 0);
	free(u);
	free(p);

	/* a missing file: lookup -ENOENT, login creates the directory and the file */
	snprintf(sub, sizeof(sub), "%s/sub/auth.json", dir);
	assert_int_equal(reg_auth_lookup(sub, "a.example", &u, &p, &err), -ENOENT);
	assert_int_equal(reg_auth_update(sub, "a.example", "x", "y", &err), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* bad base64 is named */
	write_file(path, "{\"auths\":{\"b.example\":{\"auth\":\"!!!\"}}}", 0600);
	assert_int_equal(reg_auth_lookup(path, "b.example", &u, &p, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "base64"));

	assert_int_equal(unlink(sub), 0);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0); /* fails if a temporary file was left */
}

/* ---- end to end against docker-registry ---------------------------------------------- */

static bool have(const char *cmd)
{
	char path[256];

	for (const char *d = "/usr/bin"; d; d = strcmp(d, "/usr/bin") == 0 ? "/usr/sbin" : NULL) {
		snprintf(path, sizeof(path), "%s/%s", d, cmd);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

static int run(const char *const argv[])
{
	pid_t pid;
	int st;
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
		return -1;
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	close(fd);
	return ok;
}

struct prog {
	size_t calls, present, nlayers;
};

static void on_progress(void *arg, size_t layer, size_t nlayers, uint64_t done, uint64_t total)
{
	struct prog *pr = arg;

	pr->calls++;
	pr->nlayers = nlayers;
	if (done == total)
		pr->present++;
	(void)layer;
}

/* The registry of the end-to-end test: started by setup, stopped by teardown (also on failure). */
static struct {
	char dir[64];
	pid_t reg;
	int port;
} E = { .reg = -1 };

static int e2e_setup(void **state)
{
	char cfg[128];
	const char *argv[] = { "docker-registry", "serve", cfg, NULL };
	posix_spawn_file_actions_t fa;
	FILE *f;

	(void)state;
	if (!have("docker-registry") || !have("skopeo") || !have("umoci") ||
	    access("/bin/busybox", X_OK) != 0)
		return 0;
	snprintf(E.dir, sizeof(E.dir), "/tmp/test-registry-e2e.XXXXXX");
	if (!mkdtemp(E.dir))
		return -1;
	E.port = free_port();
	snprintf(cfg, sizeof(cfg), "%s/config.yml", E.dir);
	f = fopen(cfg, "w");
	if (!f)
		return -1;
	fprintf(f,
		"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
		"%s/data\nhttp:\n  addr: 127.0.0.1:%d\n",
		E.dir, E.port);
	fclose(f);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&E.reg, "docker-registry", &fa, NULL, (char *const *)argv, environ) != 0)
		E.reg = -1;
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 200 && E.reg > 0 && !port_open(E.port); i++) { /* up to 10 s */
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return E.reg > 0 && port_open(E.port) ? 0 : -1;
}

static int e2e_teardown(void **state)
{
	(void)state;
	if (E.reg > 0) {
		kill(E.reg, SIGTERM);
		waitpid(E.reg, NULL, 0);
		E.reg = -1;
	}
	if (E.dir[0]) {
		const char *rm[] = { "rm", "-rf", E.dir, NULL };
		(void)run(rm);
		E.dir[0] = '\0';
	}
	return 0;
}

/* A two-layer busybox layout (bin/busybox; etc/motd), built with umoci, pushed with skopeo. */
static void push_busybox(const char *dest)
{
	char lay[128], img[140], bundle[128], bin[160], etc[160], motd[170], src[160];
	const char *a1[] = { "umoci", "init", "--layout", lay, NULL };
	const char *a2[] = { "umoci", "new", "--image", img, NULL };
	const char *a3[] = { "umoci", "unpack", "--rootless", "--image", img, bundle, NULL };
	const char *a4[] = { "cp", "/bin/busybox", bin, NULL };
	const char *a5[] = { "umoci", "repack", "--image", img, bundle, NULL };
	const char *a6[] = { "rm", "-rf", bundle, NULL };
	const char *a7[] = { "skopeo", "copy", "--dest-tls-verify=false", src, dest, NULL };

	snprintf(lay, sizeof(lay), "%s/layout", E.dir);
	snprintf(img, sizeof(img), "%s:v1", lay);
	snprintf(bundle, sizeof(bundle), "%s/bundle", E.dir);
	snprintf(bin, sizeof(bin), "%s/rootfs/bin", bundle);
	snprintf(etc, sizeof(etc), "%s/rootfs/etc", bundle);
	snprintf(motd, sizeof(motd), "%s/motd", etc);
	snprintf(src, sizeof(src), "oci:%s", img);
	assert_int_equal(run(a1), 0);
	assert_int_equal(run(a2), 0);
	assert_int_equal(run(a3), 0);
	assert_int_equal(mkdir(bin, 0755), 0);
	assert_int_equal(run(a4), 0);
	assert_int_equal(run(a5), 0);
	assert_int_equal(run(a6), 0);
	assert_int_equal(run(a3), 0);
	assert_int_equal(mkdir(etc, 0755), 0);
	write_file(motd, "pulled\n", 0644);
	assert_int_equal(run(a5), 0);
	assert_int_equal(run(a6), 0);
	assert_int_equal(run(a7), 0);
}

static void test_pull_e2e(void **state)
{
	char path[512], auth[128], ref[160], host[32], digest[80];
	struct image_limits lim = { .no_sync = 1 };
	struct error err = { 0 };
	struct image_store *s;
	struct image_info *info = NULL;
	struct prog pr = { 0 };
	uint64_t unpacked = 0, reused = 0;
	json_object *list = NULL, *rec, *v;
	int r;

	(void)state;
	if (E.reg <= 0) {
		skip();
		return;
	}
	snprintf(host, sizeof(host), "127.0.0.1:%d", E.port);
	snprintf(ref, sizeof(ref), "%s/test/busybox:v1", host);
	snprintf(path, sizeof(path), "docker://%s", ref);
	push_busybox(path);

	struct image_registry regs[] = { { .host = host, .insecure = 1 } };
	snprintf(auth, sizeof(auth), "%s/auth.json", E.dir);
	struct image_pull_options o = {
		.registries = regs, .nregistries = 1, .auth_file = auth, .certs_dir = E.dir
	};
	snprintf(path, sizeof(path), "%s/store", E.dir);
	s = image_store_open(path, &lim, &err);
	assert_non_null(s);
	r = image_pull(s, ref, &o, on_progress, &pr, &info, &err);
	if (r < 0)
		fprintf(stderr, "pull: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_string_equal(info->ref, ref);
	assert_int_equal(info->nlayers, 2);
	snprintf(path, sizeof(path), "%s/bin/busybox", info->layer_dirs[1]);
	assert_int_equal(access(path, X_OK), 0);
	snprintf(path, sizeof(path), "%s/etc/motd", info->layer_dirs[0]);
	assert_int_equal(access(path, R_OK), 0);
	snprintf(digest, sizeof(digest), "%s", info->digest);
	info = image_info_free(info);
	image_store_stats(s, &unpacked, &reused);
	assert_int_equal(unpacked, 2);
	assert_int_equal(reused, 0);

	/* the record names its source */
	assert_int_equal(image_list(s, &list, &err), 0);
	assert_int_equal(json_object_array_length(list), 1);
	rec = json_object_array_get_idx(list, 0);
	assert_true(json_object_object_get_ex(rec, "source", &v));
	assert_string_equal(json_object_get_string(v), ref);
	json_object_put(list);

	/* again: every layer reported present, nothing unpacked */
	memset(&pr, 0, sizeof(pr));
	assert_int_equal(image_pull(s, ref, &o, on_progress, &pr, NULL, &err), 0);
	assert_int_equal(pr.nlayers, 2);
	assert_int_equal(pr.calls, 2);
	assert_int_equal(pr.present, 2);
	image_store_stats(s, &unpacked, &reused);
	assert_int_equal(unpacked, 2);
	assert_int_equal(reused, 2);

	/* by digest: verified, recorded as NAME@sha256:HEX; a wrong digest is not found */
	snprintf(ref, sizeof(ref), "%s/test/busybox@%s", host, digest);
	assert_int_equal(image_pull(s, ref, &o, NULL, NULL, &info, &err), 0);
	assert_string_equal(info->ref, ref);
	assert_string_equal(info->digest, digest);
	info = image_info_free(info);
	snprintf(ref, sizeof(ref), "%s/test/busybox@sha256:%064d", host, 0);
	assert_true(image_pull(s, ref, &o, NULL, NULL, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, ref));

	/* a missing tag names the reference and the cause */
	snprintf(ref, sizeof(ref), "%s/test/busybox:nope", host);
	assert_true(image_pull(s, ref, &o, NULL, NULL, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, ref));
	assert_non_null(strstr(err.msg, "not found"));
	image_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_normalise),
		cmocka_unit_test(test_ref_is_remote),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_auth_file),
		cmocka_unit_test_setup_teardown(test_pull_e2e, e2e_setup, e2e_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
