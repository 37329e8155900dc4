/* SPDX-License-Identifier: MIT */
/* libFuzzer: the policy parser and validator on arbitrary bytes. */
#include <stdio.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p;
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)(uintptr_t)data, size, "r");
	if (!f)
		return 0;
	policy_init(&p);
	policy_parse_stream(&p, f, "fuzz.conf");
	fclose(f);
	policy_validate(&p);
	for (unsigned i = 0; i < p.n_pfs; i++)
		for (unsigned v = 0; v < p.pfs[i].vfs; v++) {
			uint8_t mac[MAC_LEN], pf[MAC_LEN] = { 0x52, 0x54, 0, 0x12, 0x34, 1 };

			vf_conf_mac(&p.pfs[i].vf[v], pf, v, mac);
		}
	policy_free(&p);
	return 0;
}
