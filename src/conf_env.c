/*
 * The environment overrides of the configuration (h2api_conf_apply_env): the few settings a
 * container sets without a file of its own. Every variable is parsed before any is applied, so
 * that a bad one leaves the config as it was.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conf_internal.h"

/** getenv, with an empty value counting as unset (as compose files leave them). */
static const char *get_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

/** Parses "host:port[,host:port...]" into `listens`; spaces around each address are ignored. */
static int parse_listen_list(const char *s, h2api_conf_listen_t *listens, size_t *num, char *msg, size_t msglen)
{
    const char *p = s;
    *num = 0;
    for (;;) {
        const char *start, *end, *comma = strchr(p, ',');
        char item[128];
        h2api_conf_listen_t *l;

        end = comma != NULL ? comma : p + strlen(p);
        for (start = p; start != end && isspace((unsigned char)*start); ++start)
            ;
        while (end != start && isspace((unsigned char)end[-1]))
            --end;
        if (start == end) {
            h2api__conf_set_msg(msg, msglen, "empty address in \"%s\"", s);
            return -EINVAL;
        }
        if (*num == H2API_CONF_MAX_LISTENS) {
            h2api__conf_set_msg(msg, msglen, "too many addresses (at most %d)", H2API_CONF_MAX_LISTENS);
            return -EINVAL;
        }
        snprintf(item, sizeof(item), "%.*s", (int)(end - start), start);
        l = &listens[(*num)++];
        if (h2api__conf_parse_listen(item, &l->host, &l->port, msg, msglen) != 0) {
            --*num;
            return -EINVAL;
        }
        for (size_t i = 0; i + 1 < *num; ++i) {
            if (l->port != 0 && l->port == listens[i].port && strcmp(l->host, listens[i].host) == 0) {
                h2api__conf_set_msg(msg, msglen, "duplicate address \"%s\"", item);
                return -EINVAL;
            }
        }
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int h2api_conf_apply_env(h2api_conf_t *conf, char *errbuf, size_t errlen)
{
    const char *listen = get_env("H2API_LISTEN"), *workers = get_env("H2API_WORKERS"), *level = get_env("H2API_LOG_LEVEL"),
               *url = get_env("H2API_UPSTREAM_URL");
    h2api_conf_listen_t listens[H2API_CONF_MAX_LISTENS] = {{NULL}};
    h2api_conf_upstream_t url_parts = {NULL}, *up = NULL;
    h2api_log_level_t new_level = conf->log.level;
    unsigned new_workers = conf->workers;
    size_t num_listens = 0;
    const char *failed = NULL;
    char msg[256];

    /* parse everything first, so that a bad variable leaves conf as it was */
    if (listen != NULL && parse_listen_list(listen, listens, &num_listens, msg, sizeof(msg)) != 0) {
        failed = "H2API_LISTEN";
    } else if (workers != NULL && h2api__conf_parse_workers(workers, &new_workers, msg, sizeof(msg)) != 0) {
        failed = "H2API_WORKERS";
    } else if (level != NULL && h2api__conf_parse_log_level(level, &new_level, msg, sizeof(msg)) != 0) {
        failed = "H2API_LOG_LEVEL";
    } else if (url != NULL) {
        if (conf->default_upstream == NULL ||
            (up = (h2api_conf_upstream_t *)h2api_conf_find_upstream(conf, conf->default_upstream)) == NULL) {
            h2api__conf_set_msg(msg, sizeof(msg), "no upstream is configured to take it");
            failed = "H2API_UPSTREAM_URL";
        } else if (h2api_conf_parse_base_url(&url_parts, url, msg, sizeof(msg)) != 0) {
            failed = "H2API_UPSTREAM_URL";
        }
    }
    if (failed != NULL) {
        for (size_t i = 0; i != num_listens; ++i)
            h2api__conf_free_listen(&listens[i]);
        free(url_parts.host);
        free(url_parts.path_prefix);
        h2api__conf_set_msg(errbuf, errlen, "ENV %s: %s", failed, msg);
        return -EINVAL;
    }

    if (listen != NULL) {
        for (size_t i = 0; i != conf->num_listens; ++i)
            h2api__conf_free_listen(&conf->listens[i]);
        memcpy(conf->listens, listens, sizeof(listens));
        conf->num_listens = num_listens;
    }
    conf->workers = new_workers;
    conf->log.level = new_level;
    if (up != NULL) {
        h2api__conf_replace_str(&up->base_url, h2api__conf_strdup(url));
        h2api__conf_replace_str(&up->host, url_parts.host);
        h2api__conf_replace_str(&up->path_prefix, url_parts.path_prefix);
        up->is_tls = url_parts.is_tls;
        up->port = url_parts.port;
    }
    return 0;
}
