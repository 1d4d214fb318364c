/** Counts are capped: beyond this the queue says "999 or more", so counting never walks the table. */
export const COUNT_CAP = 999
