/*
 * fuzz-registry.c - libFuzzer harness for what a registry or an edited
 * file feeds the registry client's pure parsers: the first byte picks
 * the parser, the rest is its input.
 *   0: a WWW-Authenticate header value (reg_challenge_parse)
 *   1: a token endpoint's reply (reg_token_parse)
 *   2: a credentials file (reg_auth_lookup_buf for "reg.example:5000"
 *      and "docker.io")
 *   3: an image reference (reg_ref_parse, reg_ref_format, image_ref_is_remote)
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *     -Isupervisor/image -Isupervisor/common tests/fuzz/fuzz-registry.c \
 *     supervisor/image/registry-auth.c supervisor/image/registry-ref.c supervisor/common/*.c \
 *     -ljson-c -lsystemd -o fuzz-registry
 *   ./fuzz-registry -max_total_time=60 tests/fuzz/corpus/registry
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { 0 };
	char *s, *tok = NULL, *user = NULL, *pass = NULL;
	unsigned exp = 0;

	if (size < 1 || size > 64 * 1024)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0: {
		struct reg_challenge c;
		if (reg_challenge_parse(s, &c) == 0) {
			if (c.scheme == REG_AUTH_NONE || strlen(c.realm) >= sizeof(c.realm))
				abort();
			if (c.scheme == REG_AUTH_BEARER && !*c.realm)
				abort();
		}
		break;
	}
	case 1:
		if (reg_token_parse(s, size - 1, &tok, &exp, &err) == 0) {
			if (!tok || !*tok || exp < 60)
				abort();
			for (const char *c = tok; *c; c++)
				if ((unsigned char)*c <= ' ')
					abort();
		} else if (tok) {
			abort();
		}
		free(tok);
		break;
	case 2:
		if (reg_auth_lookup_buf(s, size - 1, "fuzz", "reg.example:5000", &user, &pass,
					&err) == 0 &&
		    (!user || !pass))
			abort();
		free(user);
		free(pass);
		user = pass = NULL;
		(void)reg_auth_lookup_buf(s, size - 1, "fuzz", "docker.io", &user, &pass, &err);
		free(user);
		free(pass);
		break;
	default: {
		struct reg_ref r, r2;
		char buf[700];
		if (reg_ref_parse(s, &r, &err) == 0) {
			/* a normalised reference parses to itself */
			reg_ref_format(&r, buf, sizeof(buf));
			if (reg_ref_parse(buf, &r2, &err) != 0 || strcmp(r.host, r2.host) != 0 ||
			    strcmp(r.repo, r2.repo) != 0 || strcmp(r.tag, r2.tag) != 0 ||
			    strcmp(r.hex, r2.hex) != 0)
				abort();
		}
		(void)image_ref_is_remote(s);
		break;
	}
	}
	free(s);
	return 0;
}
