/*
 * test-compose.c - unit tests for config/compose.c (docker-compose files to
 * paddock specs) and config/hints.c: the text written, values that read
 * back unchanged whatever they hold, warnings at the compose file's
 * LINE:COLUMN, errors, and the key hints.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compose.h"
#include "config.h"
#include "yaml-tree.h"

struct conv {
	struct compose_result res;
	struct config_errors warn, errs;
	char *text;
	int r;
};

static void convert(struct conv *c, const char *yaml)
{
	memset(c, 0, sizeof(*c));
	c->r =
	    compose_convert("dc.yaml", yaml, strlen(yaml), "/srv/app", &c->res, &c->warn, &c->errs);
	if (c->r == 0)
		c->text = compose_spec_text(&c->res, 0, c->res.n, "dc.yaml");
}

static void conv_free(struct conv *c)
{
	compose_result_free(&c->res);
	config_errors_clear(&c->warn);
	config_errors_clear(&c->errs);
	free(c->text);
}

/* The one warning at line:column, containing sub. */
static void assert_warned(const struct conv *c, int line, int column, const char *sub)
{
	size_t hits = 0;

	for (size_t i = 0; i < c->warn.n; i++)
		if (c->warn.diags[i].line == line && c->warn.diags[i].column == column &&
		    strstr(c->warn.diags[i].message, sub))
			hits++;
	if (hits != 1) {
		config_errors_print(stderr, &c->warn);
		fail_msg("expected one warning at %d:%d with '%s'", line, column, sub);
	}
}

static void test_text(void **state)
{
	struct conv c;

	(void)state;
	convert(&c, "services:\n"
		    "  web:\n"
		    "    image: nginx:1.25\n"
		    "    command: nginx -g 'daemon off;'\n"
		    "    environment: [A=1, B=]\n"
		    "    ports: [\"8080:80\"]\n"
		    "    volumes: [\"./html:/usr/share/nginx/html:ro\"]\n"
		    "    mem_limit: 256m\n"
		    "    restart: always\n");
	assert_int_equal(c.r, 0);
	assert_int_equal(c.res.n, 1);
	assert_string_equal(c.res.services[0].name, "web");
	assert_string_equal(c.text, "# converted from dc.yaml by paddockctl convert compose\n"
				    "services:\n"
				    "  web:\n"
				    "    image: docker.io/library/nginx:1.25\n"
				    "    command:\n"
				    "      - nginx\n"
				    "      - \"-g\"\n"
				    "      - \"daemon off;\"\n"
				    "    environment:\n"
				    "      A: 1\n"
				    "      B: \"\"\n"
				    "    ports:\n"
				    "      - \"8080:80\"\n"
				    "    resources:\n"
				    "      memory:\n"
				    "        max: 256m\n"
				    "    isolation:\n"
				    "      network: default\n"
				    "      mounts:\n"
				    "        - type: bind\n"
				    "          source: /srv/app/html\n"
				    "          target: /usr/share/nginx/html\n"
				    "          readonly: true\n"
				    "    restart:\n"
				    "      policy: always\n");
	/* The image's Entrypoint nuance is the only warning. */
	assert_int_equal(c.warn.n, 1);
	assert_warned(&c, 4, 5, "Entrypoint");
	conv_free(&c);
}

/* Command strings split as compose splits them: shell quoting, no expansion. */
static void test_words(void **state)
{
	static const char *const want[] = { "sh", "-c",	 "echo \"a b\" $HOME", "x y", "q\"z",
					    "",	  "it's" };
	struct conv c;
	struct ytree t = { 0 };
	const struct ynode *cmd;

	(void)state;
	convert(&c, "services:\n  a:\n    command: >-\n"
		    "      sh -c 'echo \"a b\" $HOME' x\\ y \"q\\\"z\" '' \"it's\"\n");
	assert_int_equal(c.r, 0);
	assert_int_equal(ytree_parse(&t, "out", c.text, strlen(c.text), &c.errs), 0);
	cmd = y_get(y_get(y_get(t.root, "services", NULL), "a", NULL), "command", NULL);
	assert_non_null(cmd);
	assert_int_equal(cmd->n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < cmd->n; i++)
		assert_string_equal(cmd->items[i]->value, want[i]);
	ytree_free(&t);
	conv_free(&c);

	convert(&c, "services:\n  a:\n    image: x\n    command: echo 'open\n");
	assert_int_equal(c.r, 0);
	assert_warned(&c, 4, 14, "is not closed");
	assert_null(strstr(c.text, "command"));
	conv_free(&c);
}

/* Whatever a value holds, the spec reads it back as the same string. */
static void test_quoting(void **state)
{
	static const char *const values[] = {
		"yes",	  "No",		 "null",      "~",	    "",	      "true",
		"a: b",	  "#x",		 "-x",	      "x #y",	    "${VAR}", "'q'",
		"\"dq\"", "back\\slash", "tab\there", "two\nlines", "[1]",    "{a}",
		"*ref",	  "&a",		 "!tag",      "%p",	    "@at",    "`tick`",
		"|",	  ">",		 "? q",	      ":",	    "0755",   "1.5",
		"é",	  "ctl\x01",	 "trailing ",
	};
	static const char *const special[][2] = {
		{ "\\x85\\x9f", "\xc2\x85\xc2\x9f" },
		{ "a\\Lb\\P", "a\xe2\x80\xa8"
			      "b\xe2\x80\xa9" },
		{ "\\uFEFF", "\xef\xbb\xbf" },
		{ "\\uFFFE\\uFFFF", "\xef\xbf\xbe\xef\xbf\xbf" },
	};
	const size_t nvalues = sizeof(values) / sizeof(values[0]);
	char *yaml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);
	struct conv c;
	struct ytree t = { 0 };
	const struct ynode *env;

	(void)state;
	assert_non_null(f);
	fprintf(f, "services:\n  a:\n    image: x\n    environment:\n");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		fprintf(f, "      - \"V%zu=", i);
		for (const char *p = values[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				fprintf(f, "\\%c", *p);
			else if (*p == '\n')
				fprintf(f, "\\n");
			else if (*p == '\t')
				fprintf(f, "\\t");
			else if ((unsigned char)*p < 0x20)
				fprintf(f, "\\x%02x", (unsigned char)*p);
			else
				fputc(*p, f);
		}
		fprintf(f, "\"\n");
	}
	/* Characters YAML takes only escaped: C1 controls, separators, BOM, non-characters. */
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		fprintf(f, "      - \"S%zu=%s\"\n", i, special[i][0]);
	fclose(f);
	convert(&c, yaml);
	assert_int_equal(c.r, 0);
	assert_int_equal(c.warn.n, 0);
	assert_int_equal(ytree_parse(&t, "out", c.text, strlen(c.text), &c.errs), 0);
	env = y_get(y_get(y_get(t.root, "services", NULL), "a", NULL), "environment", NULL);
	assert_non_null(env);
	assert_int_equal(env->n, nvalues + sizeof(special) / sizeof(special[0]));
	for (size_t i = 0; i < env->n; i++) {
		assert_false(y_is_null(env->pairs[i].value));
		assert_string_equal(env->pairs[i].value->value,
				    i < nvalues ? values[i] : special[i - nvalues][1]);
	}
	ytree_free(&t);
	conv_free(&c);
	free(yaml);
}

static void test_ports_volumes(void **state)
{
	struct conv c;

	(void)state;
	convert(&c, "services:\n"
		    "  a:\n"
		    "    image: x\n"
		    "    ports:\n"
		    "      - 80\n"
		    "      - \"127.0.0.1::53/udp\"\n"
		    "      - \"[::1]:80:80\"\n"
		    "      - \"9000-9001:9000-9001\"\n"
		    "      - {target: 443, published: 8443, host_ip: 10.0.0.1, protocol: udp}\n"
		    "      - {target: 22}\n"
		    "      - \"80:80/sctp\"\n"
		    "    volumes:\n"
		    "      - data:/var/lib/a\n"
		    "      - /anon\n"
		    "      - ../up/./x:/x:rw,z\n"
		    "      - {type: tmpfs, target: /t, tmpfs: {size: 1m}}\n"
		    "      - /h:/h:ro,weird\n"
		    "    tmpfs: /run:size=8m,mode=1777\n");
	assert_int_equal(c.r, 0);
	assert_warned(&c, 5, 9, "picks none at random");
	assert_warned(&c, 6, 9, "picks none at random");
	assert_warned(&c, 7, 9, "IPv4");
	assert_warned(&c, 10, 9, "'published'");
	assert_warned(&c, 11, 9, "tcp and udp");
	assert_warned(&c, 13, 9, "named volume 'data'");
	assert_warned(&c, 14, 9, "anonymous volume");
	assert_warned(&c, 17, 9, "'weird'");
	assert_warned(&c, 18, 12, "'mode=1777'");
	assert_int_equal(c.warn.n, 9);
	assert_non_null(strstr(c.text, "      - \"9000-9001:9000-9001\"\n"
				       "      - \"10.0.0.1:8443:443/udp\"\n"));
	assert_non_null(strstr(c.text, "source: /srv/up/x\n          target: /x\n"));
	assert_non_null(strstr(c.text, "type: tmpfs\n          target: /t\n          size: 1m\n"));
	assert_non_null(strstr(c.text, "target: /h\n          readonly: true\n"));
	assert_non_null(strstr(c.text, "target: /run\n          size: 8m\n"));
	conv_free(&c);
}

/* Merge keys, networks, secrets, deploy, healthcheck and depends_on. */
static void test_shapes(void **state)
{
	struct conv c;

	(void)state;
	convert(&c, "x-base: &base\n"
		    "  restart: on-failure:5\n"
		    "  user: \"1000:1000\"\n"
		    "services:\n"
		    "  Api.V2:\n"
		    "    <<: *base\n"
		    "    image: registry.example.com/api@sha256:"
		    "0123456789012345678901234567890123456789012345678901234567890123\n"
		    "    networks:\n"
		    "      back: {ipv4_address: 10.90.9.5, aliases: [api], priority: 3}\n"
		    "    deploy:\n"
		    "      replicas: 3\n"
		    "      resources: {limits: {memory: 1G, pids: 64}}\n"
		    "    secrets: [pw, {source: ext, target: /etc/k, mode: 0400}, nope]\n"
		    "    depends_on: {db: {condition: service_completed_successfully}}\n"
		    "  db:\n"
		    "    image: postgres\n"
		    "    healthcheck: {test: [CMD, pg_isready, -q]}\n"
		    "secrets:\n"
		    "  pw: {file: ./pw.txt}\n"
		    "  ext: {external: true}\n"
		    "networks:\n"
		    "  back: {internal: true}\n");
	assert_int_equal(c.r, 0);
	assert_int_equal(c.res.n, 2);
	assert_string_equal(c.res.services[0].name, "api-v2");
	assert_warned(&c, 2, 12, "on-failure:5");
	assert_warned(&c, 5, 3, "called 'api-v2'");
	assert_warned(&c, 9, 7, "networks: {back: {subnet: 10.90.1.0/24, internal: true}}");
	assert_warned(&c, 9, 55, "'priority'");
	assert_warned(&c, 13, 62, "'nope'");
	assert_warned(&c, 20, 19, "secrets_dir");
	assert_non_null(strstr(c.text, "    user: \"1000:1000\"\n"));
	assert_non_null(strstr(c.text, "      network:\n"
				       "        - network: back\n"
				       "          ip: 10.90.9.5\n"
				       "          aliases:\n"
				       "            - api\n"));
	assert_non_null(strstr(c.text, "      memory:\n        max: 1G\n      pids:\n"
				       "        max: 64\n"));
	assert_non_null(strstr(c.text, "    secrets:\n"
				       "      - source: /srv/app/pw.txt\n"
				       "        target: /run/secrets/pw\n"
				       "      - source: ext\n"
				       "        target: /etc/k\n"
				       "        mode: \"0400\"\n"));
	assert_non_null(strstr(c.text, "  api-v2:\n    instances: 3\n"));
	assert_non_null(strstr(c.text, "    depends_on:\n      db:\n"
				       "        condition: completed_successfully\n"));
	assert_non_null(strstr(c.text, "    health:\n      exec:\n        - pg_isready\n"
				       "        - \"-q\"\n      on_unhealthy: none\n"));
	assert_null(strstr(c.text, "ready:"));
	assert_int_equal(c.warn.n, 6);
	assert_non_null(strstr(c.text, "    restart:\n      policy: on-failure\n"));
	conv_free(&c);
}

/* healthcheck as a liveness health check, its test forms and durations. */
static void test_health(void **state)
{
	struct conv c;

	(void)state;
	convert(&c,
		"services:\n"
		"  a:\n"
		"    healthcheck:\n"
		"      test: [CMD, curl, -f, http://localhost/]\n"
		"      interval: 1m30s\n"
		"      timeout: 1.5s\n"
		"      retries: 2\n"
		"      start_period: 2h0m\n"
		"      start_interval: 1s\n"
		"  b:\n"
		"    healthcheck: {test: [CMD-SHELL, \"pg_isready || exit 1\"], interval: 10us}\n"
		"  c:\n"
		"    healthcheck: {test: wget -q localhost, timeout: 25h, retries: 0}\n"
		"  d:\n"
		"    healthcheck: {test: [NONE]}\n"
		"  e:\n"
		"    healthcheck: {test: [CMD, x], disable: true}\n"
		"  f:\n"
		"    healthcheck: {interval: 90, timeout: 1x, retries: 1001}\n"
		"  g:\n"
		"    healthcheck: {test: [CMD], retries: many}\n");
	assert_int_equal(c.r, 0);
	assert_non_null(strstr(c.text, "  a:\n"));
	assert_non_null(strstr(c.text, "    health:\n"
				       "      exec:\n"
				       "        - curl\n"
				       "        - \"-f\"\n"
				       "        - http://localhost/\n"
				       "      interval: 1m30s\n"
				       "      timeout: 1s500ms\n"
				       "      retries: 2\n"
				       "      start_period: 2h\n"
				       "      on_unhealthy: none\n"));
	assert_non_null(strstr(c.text, "      exec:\n"
				       "        - /bin/sh\n"
				       "        - \"-c\"\n"
				       "        - \"pg_isready || exit 1\"\n"
				       "      interval: 100ms\n"
				       "      on_unhealthy: none\n"));
	assert_non_null(strstr(c.text, "        - \"wget -q localhost\"\n"
				       "      timeout: 24h\n"
				       "      on_unhealthy: none\n"));
	/* d, e, f and g: no health at all */
	assert_non_null(strstr(c.text, "  d:\n    isolation:\n      network: default\n"
				       "    restart:\n      policy: never\n  e:\n"));
	assert_non_null(strstr(c.text, "  e:\n    isolation:\n      network: default\n"
				       "    restart:\n      policy: never\n  f:\n"));
	assert_non_null(strstr(c.text, "  f:\n    isolation:\n      network: default\n"
				       "    restart:\n      policy: never\n  g:\n"));
	assert_null(strstr(strstr(c.text, "  g:\n"), "health:"));
	assert_warned(&c, 9, 7, "start_interval is not carried");
	assert_warned(&c, 11, 72, "interval '10us' is carried as 100ms");
	assert_warned(&c, 13, 53, "timeout '25h' is carried as 24h");
	assert_warned(&c, 19, 5, "without 'test' is not carried");
	assert_warned(&c, 21, 25, "no command");
	assert_int_equal(c.warn.n, 5);
	conv_free(&c);

	/* Values paddock cannot take are warned one by one; the rest is carried. */
	convert(&c, "services:\n  f:\n    healthcheck: {test: [CMD, x], interval: 90, timeout: 1x,"
		    " retries: 1001, foo: 1}\n");
	assert_warned(&c, 3, 45, "interval is not carried: not a compose duration");
	assert_warned(&c, 3, 58, "timeout is not carried");
	assert_warned(&c, 3, 71, "retries 1001 is carried as 1000");
	assert_warned(&c, 3, 77, "healthcheck.foo is not carried");
	assert_non_null(
	    strstr(c.text, "        - x\n      retries: 1000\n      on_unhealthy: none\n"));
	conv_free(&c);
}

/* depends_on conditions and restart; deploy.replicas and scale as instances. */
static void test_deps_instances(void **state)
{
	struct conv c;

	(void)state;
	convert(&c, "services:\n"
		    "  web:\n"
		    "    ports: [\"8080:80\"]\n"
		    "    deploy: {replicas: 2}\n"
		    "    depends_on:\n"
		    "      db: {condition: service_healthy, restart: true}\n"
		    "      migrate: {condition: service_completed_successfully, required: false}\n"
		    "      cache:\n"
		    "      queue: {condition: service_started, restart: maybe}\n"
		    "  db: {healthcheck: {test: [CMD, pg_isready]}, scale: 1}\n"
		    "  migrate: {depends_on: [db], scale: 0}\n"
		    "  cache: {depends_on: {queue: {condition: service_healthy}}, deploy: "
		    "{replicas: 999}}\n"
		    "  queue: {scale: lots}\n");
	assert_int_equal(c.r, 0);
	assert_non_null(strstr(c.text, "  web:\n    instances: 2\n"));
	assert_null(strstr(c.text, "ports:"));
	assert_non_null(strstr(c.text, "    depends_on:\n"
				       "      db:\n"
				       "        condition: healthy\n"
				       "        restart: true\n"
				       "      migrate:\n"
				       "        condition: completed_successfully\n"
				       "      cache:\n"
				       "        condition: started\n"
				       "      queue:\n"
				       "        condition: started\n"));
	assert_non_null(strstr(c.text, "  db:\n    isolation:"));
	assert_non_null(strstr(c.text, "  migrate:\n    enabled: false\n"));
	assert_non_null(strstr(c.text, "    depends_on:\n      - db\n"));
	assert_non_null(strstr(c.text, "  cache:\n    instances: 256\n"));
	assert_non_null(strstr(c.text, "  queue:\n    isolation:"));
	assert_warned(&c, 3, 5, "the 2 instances cannot all publish");
	assert_warned(&c, 7, 60, "'required: false' is not carried");
	assert_warned(&c, 9, 52, "restart must be true or false");
	assert_warned(&c, 11, 38, "scale 0 is carried as 'enabled: false'");
	assert_warned(&c, 12, 43, "'queue' has no healthcheck");
	assert_warned(&c, 12, 81, "999 is carried as 256");
	assert_warned(&c, 13, 18, "scale 'lots' is not carried");
	assert_int_equal(c.warn.n, 7);
	conv_free(&c);
}

static void test_errors(void **state)
{
	static const struct {
		const char *yaml;
		int line, column;
		const char *sub;
	} cases[] = {
		{ "- a\n", 1, 1, "mapping with 'services:'" },
		{ "version: '3'\n", 1, 1, "no services" },
		{ "services:\n  _x: {image: a}\n", 2, 3, "cannot be a paddock name" },
		{ "services:\n  web: {image: a}\n  Web: {image: b}\n", 3, 3, "like another" },
		{ "services:\n  web: [a]\n", 2, 8, "must be a mapping" },
		{ "services: {a: [\n", 0, 0, "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conv c;

		convert(&c, cases[i].yaml);
		assert_int_equal(c.r, -EINVAL);
		assert_int_equal(c.res.n, 0);
		assert_null(c.res.services);
		assert_true(c.errs.n >= 1);
		if (cases[i].line) {
			assert_int_equal(c.errs.diags[0].line, cases[i].line);
			assert_int_equal(c.errs.diags[0].column, cases[i].column);
			assert_non_null(strstr(c.errs.diags[0].message, cases[i].sub));
		}
		conv_free(&c);
	}
}

static void test_hints(void **state)
{
	(void)state;
	assert_non_null(strstr(config_key_hint("in service 'web'", "volumes"), "isolation.mounts"));
	assert_non_null(strstr(config_key_hint("at the top level", "volumes"), "no named volumes"));
	assert_non_null(
	    strstr(config_key_hint("in service 'web'", "env_file"), "environment_file"));
	assert_non_null(strstr(config_key_hint("in service 'web'", "ExecStart"), "'command'"));
	assert_non_null(strstr(config_key_hint("in 'resources'", "cpus"), "'cpu.max'"));
	assert_non_null(strstr(config_key_hint("in service 'a'", "cpus"), "resources.cpu.max"));
	assert_non_null(strstr(config_key_hint("in service 'a'", "Type"), "ready: notify"));
	assert_non_null(strstr(config_key_hint("in service 'a'", "healthcheck"), "'health'"));
	assert_non_null(strstr(config_key_hint("in service 'a'", "scale"), "'instances'"));
	assert_non_null(strstr(config_key_hint("in service 'a'", "LoadCredential"), "secrets"));
	/* Outside a service, the edit distance finds better: 'budget' has a 'cpu'. */
	assert_null(config_key_hint("in 'budget'", "cpus"));
	assert_null(config_key_hint("in the daemon config", "volumes"));
	assert_null(config_key_hint(NULL, "volumes"));
	assert_null(config_key_hint("in service 'a'", "resourses"));
	assert_null(config_key_hint("in service 'a'", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),	       cmocka_unit_test(test_words),
		cmocka_unit_test(test_quoting),	       cmocka_unit_test(test_ports_volumes),
		cmocka_unit_test(test_shapes),	       cmocka_unit_test(test_health),
		cmocka_unit_test(test_deps_instances), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_hints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
