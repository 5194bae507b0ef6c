/* docs.c — `connectd docs`: the key reference in Markdown, generated from the schema tables
 * (README.md includes its output; `make docs` refreshes it, `make test` checks it). */
#include "connector_config.h"
#include "registry.h"
#include "transform.h"
#include "worker_config.h"

#include <stdio.h>
#include <string.h>

static void print_value(const char *s)
{
    if (!s)
        return;
    printf("`%s`", *s ? s : "\"\"");
}

static void print_table(const struct cfg_def *defs)
{
    printf("| key | type | default | importance | description |\n|---|---|---|---|---|\n");
    for (const struct cfg_def *d = defs; d && d->name; d++) {
        printf("| `%s` | %s%s | ", d->name, cfg_type_name(d->type),
               (d->secret || d->type == CFG_PASSWORD) ? " (secret)" : "");
        if (d->required && !d->default_value)
            fputs("required", stdout);
        else
            print_value(d->default_value);
        printf(" | %s | ", cfg_importance_name(d->importance));
        for (const char *c = d->doc ? d->doc : ""; *c; c++) {
            if (*c == '|')
                putchar('\\');
            putchar(*c == '\n' ? ' ' : *c);
        }
        printf(" |\n");
    }
    printf("\n");
}

/* Transforms (a $Key/$Value pair under one heading) and predicates. */
static void docs_transforms(void)
{
    printf("## Transforms\n\nKeys follow `transforms.<alias>.`; every transform also takes "
           "`predicate` and `negate`.\n\n");
    for (int i = 0; transform_plugins[i]; i++) {
        const char *cls = transform_plugins[i]->class_name, *dollar = strchr(cls, '$');
        const struct transform_plugin *next = transform_plugins[i + 1];
        if (dollar && next && !strncmp(next->class_name, cls, (size_t)(dollar - cls) + 1)) {
            printf("### %.*s$Key, $Value\n\n", (int)(dollar - cls), cls);
            i++;
        } else {
            printf("### %s\n\n", cls);
        }
        if (transform_plugins[i]->config[0].name)
            print_table(transform_plugins[i]->config);
    }
    printf("## Predicates\n\nKeys follow `predicates.<alias>.`.\n\n");
    for (int i = 0; predicate_plugins[i]; i++) {
        printf("### %s\n\n", predicate_plugins[i]->class_name);
        if (predicate_plugins[i]->config[0].name)
            print_table(predicate_plugins[i]->config);
    }
}

int docs_main(void)
{
    printf("## Worker configuration\n\n");
    print_table(worker_defs);
    printf("## Keys every connector has\n\n");
    print_table(connector_common_defs);
    printf("### Sink connectors also have\n\n");
    print_table(connector_sink_defs);
    printf("### Source connectors also have\n\n");
    print_table(connector_source_defs);
    for (int i = 0; registry_connectors[i]; i++) {
        const struct connector_plugin *p = registry_connectors[i];
        printf("## %s (%s)\n\n", p->class_name, p->type == PLUGIN_SINK ? "sink" : "source");
        if (p->aliases && p->aliases[0]) {
            printf("Also answers to:");
            for (const char *const *a = p->aliases; *a; a++)
                printf(" `%s`", *a);
            printf("\n\n");
        }
        print_table(p->config);
    }
    for (int i = 0; registry_converters[i]; i++) {
        printf("## %s (converter)\n\nKeys follow `key.converter.` / `value.converter.`.\n\n",
               registry_converters[i]->class_name);
        print_table(registry_converters[i]->config);
    }
    docs_transforms();
    return 0;
}
