package io.somastack.metering;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Plain JDBC for {@link Budgets} and {@link BudgetLeases}: their statements run on every model
 * call, where JDBI's per-statement cost showed in profiles.
 */
final class BudgetSql {
    private BudgetSql() {
    }

    /** Work on one connection of {@code dataSource}; a database that does not answer is {@link ErrorCode#NOT_READY}. */
    static <T> T run(DataSource dataSource, String what, Work<T> work) {
        try (Connection connection = dataSource.getConnection()) {
            return work.run(connection);
        } catch (SQLException e) {
            throw new SomaException(ErrorCode.NOT_READY, "%s failed: the database does not answer (%s)".formatted(what, e.getMessage()),
                    Map.of(), e);
        }
    }

    /** Binds {@code values} to the statement's parameters in order. */
    static void bind(PreparedStatement statement, Object... values) throws SQLException {
        for (int i = 0; i < values.length; i++) {
            statement.setObject(i + 1, values[i]);
        }
    }

    interface Work<T> {
        T run(Connection connection) throws SQLException;
    }
}
