-- The scale benchmark's data, generated on the server (bench/bench_scale.py runs this file).
-- Parameters are psql-style :'name' placeholders filled in by the runner.
-- Rows are derived deterministically from (practice number, visit number): the same sizes
-- give the same rows. Ids are md5 hex strings (32 characters, like the application's ids).
-- The shapes follow bench/bench_reports.py: five payers and three providers per practice,
-- a patient per 50 visits, a claim per insured visit (1-2 lines), and each line's ledger
-- life (charge; then a denial, or payment + CO-45 + patient-share transfer + a patient
-- payment 70% of the time), one pain measure per visit.

CREATE UNLOGGED TABLE bench_sizes AS
SELECT pno, md5('p' || pno) AS pid, visits, greatest(20, visits / 50) AS patients
FROM (
    SELECT pno,
           CASE pno WHEN 1 THEN :largest WHEN 2 THEN :medium WHEN 3 THEN :small ELSE :tail END AS visits
    FROM generate_series(1, :practices) AS pno
) s;

CREATE UNLOGGED TABLE bench_patterns (pattern int, line int, code text, minutes int, units int, fee int);
INSERT INTO bench_patterns VALUES
    (0, 1, '97124', 60, 4, 3000),
    (1, 1, '97124', 45, 3, 3000),
    (2, 1, '97124', 30, 2, 3000), (2, 2, '97140', 15, 1, 3500),
    (3, 1, '97110', 23, 2, 4200), (3, 2, '97140', 8, 1, 3500),
    (4, 1, '97110', 8, 1, 4200), (4, 2, '97140', 8, 1, 3500),
    (5, 1, '97124', 38, 3, 3000), (5, 2, '97140', 22, 1, 3500),
    (6, 1, '97110', 30, 2, 4200), (6, 2, '97112', 15, 1, 4500);

CREATE UNLOGGED TABLE bench_v AS
SELECT s.pno, s.pid, n,
       (n % s.patients) AS pt,
       DATE '2025-01-01' + ((n::bigint * 7919 + s.pno * 104729) % 700)::int AS day,
       ((n * 31 + s.pno) % 7) AS pattern,
       ((n % s.patients) % 6) <> 0 AS covered,
       ((n % s.patients) % 5) AS payer_no,
       1 + (n % 6) AS sub_after,
       10 + ((n::bigint * 17) % 31)::int AS paid_after,
       ((n::bigint * 13) % 100) < 6 AS denied,
       ((n::bigint * 29) % 10) < 7 AS patient_pays
FROM bench_sizes s, generate_series(0, s.visits - 1) AS n;

INSERT INTO practices (id, name, slug, created_at, fees)
SELECT pid, 'Bench practice ' || pno, 'bench-' || pno, TIMESTAMPTZ '2025-01-01 12:00Z',
       '{"97124": "30.00", "97140": "35.00", "97110": "42.00", "97112": "45.00"}'::json
FROM bench_sizes;

INSERT INTO providers (id, practice_id, first_name, last_name, created_at)
SELECT md5('pr' || pno || ':' || k), pid, 'T' || k, 'Therapist', TIMESTAMPTZ '2025-01-01 12:00Z'
FROM bench_sizes, generate_series(0, 2) AS k;

INSERT INTO payers (id, practice_id, name, payer_id, profile, created_at)
SELECT md5('py' || pno || ':' || k), pid, 'Payer ' || k, 'P' || k, 'commercial', TIMESTAMPTZ '2025-01-01 12:00Z'
FROM bench_sizes, generate_series(0, 4) AS k;

INSERT INTO patients (id, practice_id, chart_number, first_name, last_name, created_at)
SELECT md5('pt' || pno || ':' || i), pid, 'C' || i, 'F' || i, 'L' || i, TIMESTAMPTZ '2025-01-01 12:00Z'
FROM bench_sizes, generate_series(0, patients - 1) AS i;

INSERT INTO coverages (id, practice_id, patient_id, payer_id, sequence, created_at)
SELECT md5('cv' || pno || ':' || i), pid, md5('pt' || pno || ':' || i), md5('py' || pno || ':' || (i % 5)),
       'primary', TIMESTAMPTZ '2025-01-01 12:00Z'
FROM bench_sizes, generate_series(0, patients - 1) AS i
WHERE i % 6 <> 0;

INSERT INTO authorizations (id, practice_id, coverage_id, number, start_date, end_date, codes,
                            visits_allowed, units_allowed, visits_used, units_used, created_at)
SELECT md5('au' || pno || ':' || i), pid, md5('cv' || pno || ':' || i), 'A' || i, DATE '2025-01-01',
       DATE '2025-01-01' + 700, '[]'::json, 60, 200, 20, 60, TIMESTAMPTZ '2025-01-01 12:00Z'
FROM bench_sizes, generate_series(0, patients - 1) AS i
WHERE i % 6 <> 0 AND i % 10 = 1;

INSERT INTO goals (id, practice_id, patient_id, description, target, status, created_at)
SELECT md5('g' || pno || ':' || i), pid, md5('pt' || pno || ':' || i), 'Sit 2 hours', '2 hours',
       CASE WHEN i % 3 = 0 THEN 'met' ELSE 'open' END, TIMESTAMPTZ '2025-01-01 12:00Z'
FROM bench_sizes, generate_series(0, patients - 1) AS i;

INSERT INTO visits (id, practice_id, patient_id, provider_id, date_of_service, status, created_at, encounter_json)
SELECT md5('v' || pno || ':' || n), pid, md5('pt' || pno || ':' || pt), md5('pr' || pno || ':' || (n % 3)),
       day, 'coded', (day + TIME '12:00') AT TIME ZONE 'UTC',
       (SELECT json_build_object('services', json_agg(json_build_object('code', code, 'minutes', minutes) ORDER BY line))
        FROM bench_patterns p WHERE p.pattern = v.pattern)
FROM bench_v v;

INSERT INTO objective_measures (id, practice_id, visit_id, patient_id, measured_on, kind, name, value, unit)
SELECT md5('m' || pno || ':' || n), pid, md5('v' || pno || ':' || n), md5('pt' || pno || ':' || pt), day,
       'pain', 'pain_scale', (1 + (n % 8))::text, '0-10'
FROM bench_v;

INSERT INTO claims (id, practice_id, visit_id, patient_id, payer_id, coverage_id, claim_number, status,
                    date_of_service, total_charge_cents, created_at, updated_at)
SELECT md5('c' || pno || ':' || n), pid, md5('v' || pno || ':' || n), md5('pt' || pno || ':' || pt),
       md5('py' || pno || ':' || payer_no), md5('cv' || pno || ':' || pt), 'B' || n,
       CASE WHEN day + sub_after + paid_after < DATE '2025-01-01' + 680 THEN 'paid' ELSE 'submitted' END,
       day, (SELECT sum(units * fee) FROM bench_patterns p WHERE p.pattern = v.pattern),
       (day + TIME '12:00') AT TIME ZONE 'UTC', (day + sub_after + TIME '12:00') AT TIME ZONE 'UTC'
FROM bench_v v
WHERE covered;

INSERT INTO claim_status_events (id, practice_id, claim_id, seq, status, at, actor)
SELECT md5('e' || pno || ':' || n), pid, md5('c' || pno || ':' || n), 1, 'submitted',
       (day + sub_after + TIME '12:00') AT TIME ZONE 'UTC', 'bench'
FROM bench_v
WHERE covered;

INSERT INTO claim_lines (id, practice_id, claim_id, line_number, service_index, code, modifiers, units, minutes,
                         unit_charge_cents, charge_cents, diagnosis_pointers, line_id, date_of_service,
                         place_of_service)
SELECT md5('l' || pno || ':' || n || ':' || line), pid, md5('c' || pno || ':' || n), line, line - 1, code,
       '[]'::json, units, minutes, fee, units * fee, '[1]'::json, n || '-' || line, day, '11'
FROM bench_v v JOIN bench_patterns p USING (pattern)
WHERE covered;

-- each claim line's ledger life
CREATE UNLOGGED TABLE bench_lines AS
SELECT v.pno, v.pid, v.n, p.line, md5('pt' || v.pno || ':' || v.pt) AS patient_id,
       md5('c' || v.pno || ':' || v.n) AS claim_id, md5('l' || v.pno || ':' || v.n || ':' || p.line) AS line_id,
       md5('py' || v.pno || ':' || v.payer_no) AS payer_id, p.units * p.fee AS charge,
       (v.day + v.sub_after + TIME '12:00') AT TIME ZONE 'UTC' AS sub_at,
       (v.day + v.sub_after + v.paid_after + TIME '12:00') AT TIME ZONE 'UTC' AS paid_at,
       v.day + v.sub_after + v.paid_after < DATE '2025-01-01' + 680 AS done,
       v.denied, v.patient_pays,
       (ARRAY['50', '97', '16', '197'])[1 + (v.n % 4)] AS denial_reason
FROM bench_v v JOIN bench_patterns p USING (pattern)
WHERE v.covered;

INSERT INTO ledger_entries (id, practice_id, patient_id, item_id, claim_id, claim_line_id, posted_by, kind, bucket,
                            payer_id, amount_cents, detail, group_code, reason_code, journal_id, posted_at)
SELECT md5('le' || e.k || ':' || pno || ':' || n || ':' || line), pid, patient_id, line_id, claim_id, line_id,
       'bench', e.kind, e.bucket, e.payer, e.amount, e.detail, e.group_code, e.reason_code, e.journal, e.at
FROM bench_lines b
CROSS JOIN LATERAL (
    VALUES
        (0, 'charge', 'insurance', b.payer_id, b.charge, 'claim-line', NULL, NULL, NULL, b.sub_at, true),
        (1, 'adjustment', 'insurance', b.payer_id, b.charge, 'denial', 'CO', b.denial_reason, NULL, b.paid_at,
         b.done AND b.denied),
        (2, 'insurance-payment', 'insurance', b.payer_id, b.charge * 6 / 10, NULL, NULL, NULL, NULL, b.paid_at,
         b.done AND NOT b.denied),
        (3, 'adjustment', 'insurance', b.payer_id, b.charge * 2 / 10, NULL, 'CO', '45', NULL, b.paid_at,
         b.done AND NOT b.denied),
        (4, 'transfer', 'insurance', b.payer_id, -(b.charge - b.charge * 6 / 10 - b.charge * 2 / 10), NULL, 'PR',
         '2', md5('j' || b.pno || ':' || b.n || ':' || b.line), b.paid_at, b.done AND NOT b.denied),
        (5, 'transfer', 'patient', NULL, b.charge - b.charge * 6 / 10 - b.charge * 2 / 10, NULL, 'PR', '2',
         md5('j' || b.pno || ':' || b.n || ':' || b.line), b.paid_at, b.done AND NOT b.denied),
        (6, 'patient-payment', 'patient', NULL, b.charge - b.charge * 6 / 10 - b.charge * 2 / 10, 'card', NULL,
         NULL, NULL, b.paid_at + INTERVAL '9 days', b.done AND NOT b.denied AND b.patient_pays)
) AS e (k, kind, bucket, payer, amount, detail, group_code, reason_code, journal, at, wanted)
WHERE e.wanted;

DROP TABLE bench_lines;
DROP TABLE bench_v;
DROP TABLE bench_patterns;
