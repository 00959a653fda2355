/* customer.h — one customer's recent tickets with their topics, for
 * `vigil customer` (read-only). */
#ifndef VG_TOPICS_CUSTOMER_H
#define VG_TOPICS_CUSTOMER_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"

/* The customer's `n` latest tickets created before day as_of, newest
 * first, each {ticket_id, created_at, subject, status, priority, channel,
 * csat, escalated, topic_id, topic}, and their topics over the 90 days
 * before as_of with counts. *out (caller owns) is {"tickets": [...],
 * "topics": [{topic_id, topic, tickets}], "tickets_90d"}. The topic is the
 * ticket's latest assignment (vigil.ticket_topics); without the topic
 * engine's tables tickets come without topics. */
vg_code topics_customer_tickets(db_conn *db, const vg_config *cfg,
                                const char *customer_id, int as_of, int n,
                                json_t **out, vg_error *err);

#endif
