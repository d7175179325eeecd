-- Business hours: the tenant's default (department_id 0) and a department's own. No row means
-- always open. The rules are the JSON of model::hours::HoursInput, checked before they are
-- written and again when read.
CREATE TABLE business_hours (
    department_id INTEGER PRIMARY KEY,
    rules         TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- A deleted department's hours go with it.
CREATE TRIGGER business_hours_department_deleted AFTER DELETE ON departments
BEGIN
    DELETE FROM business_hours WHERE department_id = OLD.id;
END;
